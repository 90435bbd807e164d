/**
 * The commands remedies give, written once, from the facts. A fact that is not
 * known shows as a <placeholder> the operator fills in.
 */
import type { Facts } from './facts.js';

/** The Application ID of Office 365 Exchange Online, the same in every tenant. */
export const EXCHANGE_APP_ID = '00000002-0000-0ff1-ce00-000000000000';

const vault = (f: Facts) => f.vault ?? '<vault>';
const name = (f: Facts) => f.credentialName ?? (f.credentialType === 'certificate' ? '<certificate name>' : '<secret name>');
const app = (f: Facts) => f.clientId ?? '<client id>';
// The Exchange cmdlets want the Enterprise application's object ID: the token's oid, when the doctor has seen one.
const objectId = (f: Facts) => f.objectId ?? '<enterprise-app-object-id>';

export function secretSet(f: Facts, value = '<secret value>', expires = '<its expiry>'): string {
  return `az keyvault secret set --vault-name ${vault(f)} --name ${name(f)} --value '${value}' --expires ${expires}`;
}

export function secretExpirySet(f: Facts): string {
  return `az keyvault secret set-attributes --vault-name ${vault(f)} --name ${name(f)} --expires <its expiry, e.g. 2027-06-30T00:00:00Z>`;
}

export function secretEnable(f: Facts): string {
  return `az keyvault secret set-attributes --vault-name ${vault(f)} --name ${name(f)} --enabled true`;
}

/** A new client secret for the app registration; prints its value once. */
export function secretReset(f: Facts): string {
  return `az ad app credential reset --id ${app(f)} --append --years 1 --query password -o tsv`;
}

export function certificateCreate(f: Facts): string {
  return `az keyvault certificate create --vault-name ${vault(f)} --name ${name(f)} --policy @infra/certificate-policy.json`;
}

export function certificateImport(f: Facts): string {
  return `az keyvault certificate import --vault-name ${vault(f)} --name ${name(f)} --file app.pem --policy @infra/certificate-policy.import.json`;
}

/** The public part of the Key Vault certificate, uploaded to the app registration. */
export function certificateUpload(f: Facts): string[] {
  return [
    `az keyvault certificate download --vault-name ${vault(f)} --name ${name(f)} --file app.cer --encoding DER`,
    `az ad app credential reset --id ${app(f)} --cert @app.cer --append`,
  ];
}

export function secretsUserAssignment(f: Facts): string {
  return (
    `az role assignment create --role "Key Vault Secrets User" --assignee <identity principal id> ` +
    `--scope $(az keyvault show --name ${vault(f)} --query id -o tsv)/secrets/${name(f)}`
  );
}

/** Exchange Online PowerShell: the app's service principal in Exchange, and its access to the mailbox. */
export function exchangeSetup(f: Facts): string[] {
  return [
    'Connect-ExchangeOnline',
    `New-ServicePrincipal -AppId ${app(f)} -ObjectId ${objectId(f)}`,
    `Add-MailboxPermission -Identity ${f.mailbox ?? '<mailbox>'} -User ${objectId(f)} -AccessRights FullAccess`,
  ];
}
