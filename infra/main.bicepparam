// Example parameters: copy, then change the mailbox and the app registration.
// docs/deploy.md walks through the deployment.
using 'main.bicep'

// The shared mailbox to drain.
param mailbox = 'invoices@contoso.com'

// Create the app registration here (needs Entra rights to create applications and
// grant admin consent). With false, register it yourself and set clientId.
param createAppRegistration = true
param credentialType = 'secret'

// Whoever runs `az keyvault secret set` or `az keyvault certificate import` next:
//   export CREDENTIAL_UPLOADER_OBJECT_ID=$(az ad signed-in-user show --query id -o tsv)
param credentialUploaderObjectId = readEnvironmentVariable('CREDENTIAL_UPLOADER_OBJECT_ID', '')

// Redeploy with true once the secret or certificate is in the vault, so that the
// function may read that one secret only.
param credentialExists = false

param afterProcessing = 'move'
param outputQueueName = 'inbound-mail'
param outputContainerName = 'inbound-mail'
param claimCheckRetentionDays = 30
param blobSoftDeleteRetentionDays = 14

param tags = {
  workload: 'mail-drain'
}
