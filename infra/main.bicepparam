// Example parameters: copy, then change the mailboxes and the app registration.
// docs/deploy.md walks through the deployment.
using 'main.bicep'

// The shared mailboxes to drain, each on its own. An entry can be an object that overrides,
// for its mailbox, folder, afterProcessing, processedFolder, failedFolder, outputQueue or
// outputContainer (created with the same roles as the default ones), or sets enabled: false:
//   { mailbox: 'orders@contoso.com', folder: 'INBOX/Orders', outputQueue: 'orders' }
// A deployment made with `param mailbox = '<address>'` keeps working; give one of the two.
param mailboxes = [
  'invoices@contoso.com'
  'orders@contoso.com'
]

// Create the app registration here (needs Entra rights to create applications and
// grant admin consent). With false, register it yourself and set clientId.
param createAppRegistration = true

// federated: the function's managed identity signs in for the app through a federated
// identity credential created with it; no secret exists anywhere and no Key Vault is
// deployed. secret or certificate: a credential kept in Key Vault (docs/deploy.md, step 5).
param credentialType = 'federated'

// secret or certificate only: true gives you, the deployer, the Key Vault role to upload
// the credential. Deploy again with false once it is uploaded, and remove the role
// (docs/deploy.md, step 8).
param grantDeployerCredentialUpload = false

// Redeploy with true once the secret or certificate is in the vault, so that the
// function may read that one secret only.
param credentialExists = false

param afterProcessing = 'move'
param outputQueueName = 'inbound-mail'
param outputContainerName = 'inbound-mail'
param claimCheckRetentionDays = 30
param blobSoftDeleteRetentionDays = 14

// Where the alerts go (README: Metrics and alerts); empty: no action group, the alerts show in the portal only.
param alertEmail = ''

param tags = {
  workload: 'mail-drain'
}
