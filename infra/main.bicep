metadata name = 'mail-drain'
metadata description = 'Drains Exchange Online shared mailboxes over IMAP into Azure Storage queues: a Flex Consumption function app running as one user-assigned identity, with key-less storage, a Key Vault for the app credential (secret or certificate; none for federated), Application Insights with Entra authentication and diagnostic settings to its workspace, and optionally the Entra app registration itself.'

targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------
// Placement and names

@description('Optional. Azure region of every resource; it must offer Flex Consumption (az functionapp list-flexconsumption-locations). Defaults to the resource group\'s region.')
param location string = resourceGroup().location

@description('Optional. Lowercase letters and digits that start every resource name; a hash of the resource group keeps global names unique.')
@minLength(2)
@maxLength(10)
param namePrefix string = 'maildrain'

@description('Optional. Tags applied to every resource.')
param tags object = {}

@description('Optional. Redundancy of both storage accounts.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

// ---------------------------------------------------------------------------
// The app registration the drain signs in as

@description('Optional. Create the Entra app registration, its Enterprise application and the IMAP.AccessAsApp admin consent here, with the Microsoft Graph Bicep extension (the deploying user needs Entra rights to create applications and grant admin consent). False: register the application yourself and pass clientId.')
param createAppRegistration bool = false

@description('Optional. Unique name (Graph uniqueName, the tenant-wide key: a deployment with the same name takes over that application) and display name of the app registration when createAppRegistration is true. The default is unique per resource group and namePrefix, so a second environment in the same tenant gets its own application; deployments made before this default existed used \'<namePrefix>-imap\': set that to keep their application.')
@minLength(1)
@maxLength(120)
param appRegistrationName string = '${namePrefix}-imap-${uniqueString(resourceGroup().id, namePrefix)}'

@description('Optional. Application (client) ID of an existing app registration. Required when createAppRegistration is false; ignored otherwise.')
param clientId string = ''

@description('Optional. Directory (tenant) ID of an existing app registration and the mailbox (createAppRegistration false). Ignored when createAppRegistration is true: the application is then created in this deployment\'s tenant, which is the one the drain signs in to.')
param tenantId string = tenant().tenantId

@description('Optional. How the drain proves the app registration\'s identity: a client secret or a certificate kept in Key Vault, or "federated": the function\'s managed identity, trusted by a federated identity credential, and no secret at all (created here when createAppRegistration is true). Defaults to federated when the app registration is created here, secret otherwise. With federated no Key Vault is deployed.')
@allowed([
  'secret'
  'certificate'
  'federated'
])
param credentialType string = createAppRegistration ? 'federated' : 'secret'

@description('Optional. Name of the Key Vault secret (secret) or certificate (certificate) holding the credential. Unused for federated.')
@minLength(1)
@maxLength(127)
param credentialName string = credentialType == 'certificate' ? 'imap-app-certificate' : 'imap-app-secret'

@description('Optional. Set to true once the secret or certificate exists in the vault (a redeployment after the upload): the function\'s Key Vault Secrets User role is then scoped to that one secret instead of the vault.')
param credentialExists bool = false

@description('Optional. Give whoever runs this deployment (deployer().objectId) Key Vault Secrets Officer (secret) or Key Vault Certificates Officer (certificate) on the vault, to upload the credential afterwards. Opt-in: deploy again with false once the credential is uploaded, and remove the assignment (docs/deploy.md, step 8). Ignored for federated.')
param grantDeployerCredentialUpload bool = false

@description('Optional. Principal type of the deployer when grantDeployerCredentialUpload is true: User for a person, ServicePrincipal for a pipeline.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param credentialUploaderPrincipalType string = 'User'

// ---------------------------------------------------------------------------
// The mailboxes

@description('Optional. The shared mailboxes to drain (MAILBOXES), each an address or an object: { mailbox, folder?, afterProcessing?, processedFolder?, failedFolder?, outputQueue?, outputContainer?, enabled? }, whose keys override mailFolder, afterProcessing, processedFolder, failedFolder, outputQueueName and outputContainerName for that mailbox (enabled false: listed, not drained). Each outputQueue (with its "-poison" queue) and outputContainer is created, with the roles of the default ones. Give this or mailbox, not both.')
param mailboxes array = []

@description('Optional. Address of the one shared mailbox to drain (MAILBOX), as deployments made before mailboxes gave it; the same as mailboxes with one address. Give this or mailboxes, not both.')
param mailbox string = ''

@description('Optional. Folder to drain.')
param mailFolder string = 'INBOX'

@description('Optional. IMAP server (implicit TLS).')
param imapHost string = 'outlook.office365.com'

@description('Optional. IMAP server port (implicit TLS).')
@minValue(1)
@maxValue(65535)
param imapPort int = 993

@description('Optional. What happens to a message once the queue has it: move to processedFolder, delete, or flag as seen.')
@allowed([
  'move'
  'delete'
  'flag'
])
param afterProcessing string = 'move'

@description('Optional. Folder for handed-off messages when afterProcessing is move.')
param processedFolder string = 'Processed'

@description('Optional. Folder for quarantined messages.')
param failedFolder string = 'Failed'

@description('Optional. Timer schedule of the drain (NCRONTAB with seconds).')
param drainSchedule string = '0 */5 * * * *'

@description('Optional. Days before the credential expires from which every run warns.')
@minValue(0)
param credentialExpiryWarningDays int = 30

@description('Optional. Messages larger than this many bytes are quarantined unparsed (Exchange Online allows up to 150 MB).')
@minValue(1000)
param maxMessageBytes int = 52428800

@description('Optional. Failed hand-offs of one message, across runs, before it is quarantined.')
@minValue(1)
@maxValue(100)
param maxAttempts int = 5

@description('Optional. Entra ID host for token requests. Defaults to this cloud\'s.')
param authorityHost string = environment().authentication.loginEndpoint

@description('Optional. Log level of the drain (LOG_LEVEL), and of the Functions host\'s Function category, so that what the drain logs at this level reaches Application Insights.')
@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
param logLevel string = 'info'

// ---------------------------------------------------------------------------
// The output

@description('Optional. Queue that receives one message per mail; its poison queue is "<name>-poison".')
@minLength(3)
@maxLength(56)
param outputQueueName string = 'inbound-mail'

@description('Optional. Claim-check container for raw messages and large content.')
@minLength(3)
@maxLength(63)
param outputContainerName string = 'inbound-mail'

@description('Optional. Queue of drain requests (DRAIN_REQUESTS_QUEUE), in the output account: the timer sends one per enabled mailbox, the queue-triggered function drains the mailbox each names. Its poison queue is "<name>-poison".')
@minLength(3)
@maxLength(56)
param drainRequestsQueueName string = 'mail-drain-requests'

@description('Optional. Days after its last modification that a claim-check blob (under messages/ in the output container: raw message, attachments, oversized payload, bodies) is deleted. Only those expire: the drain\'s lease state (locks/) and quarantined mail (quarantine/) never do. Keep it longer than consumers may take to read the queue.')
@minValue(1)
param claimCheckRetentionDays int = 30

@description('Optional. Days a deleted blob or a deleted container of the output account can still be restored (blob and container soft delete).')
@minValue(1)
@maxValue(365)
param blobSoftDeleteRetentionDays int = 14

@description('Optional. Principal (object) ID of the identity that consumes the output queues (e.g. the managed identity of the consumer\'s function app): given Storage Queue Data Message Processor on every output queue, Storage Queue Data Message Sender on its poison queue (for its host\'s poison handling), and Storage Blob Data Reader on every claim-check container. Empty: no consumer roles.')
param consumerPrincipalId string = ''

@description('Optional. Principal type of consumerPrincipalId: ServicePrincipal for a managed identity or an app.')
@allowed([
  'ServicePrincipal'
  'Group'
  'User'
])
param consumerPrincipalType string = 'ServicePrincipal'

// ---------------------------------------------------------------------------
// Alerts (modules/alerts.bicep; README: Metrics and alerts)

@description('Optional. Email address the alerts are sent to; with neither this nor alertWebhookUrl no action group is deployed and the alerts only show in the portal.')
param alertEmail string = ''

@description('Optional. Webhook (https URL) the alerts are posted to, in the common alert schema.')
@secure()
param alertWebhookUrl string?

@description('Optional. Minutes without a completed drain of a mailbox, or without any run at all, before the heartbeat alert fires: 3 x the default drainSchedule (every 5 minutes). Raise it with a slower schedule.')
@minValue(5)
@maxValue(2880)
param alertHeartbeatMinutes int = 15

@description('Optional. Minutes the oldest message may wait in a mailbox before the backlog alert fires.')
@minValue(5)
@maxValue(2880)
param alertBacklogMinutes int = 60

// ---------------------------------------------------------------------------
// The host

@description('Optional. Most instances the function app scales out to; with one drain per instance (host.json), also the most mailboxes drained at once.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Optional. Memory of each instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Optional. Private networking: integrate the function app into a new virtual network (outbound through a NAT gateway), and reach both storage accounts and the Key Vault over private endpoints. The host storage account then refuses its public endpoint; the output account and the vault keep theirs for consumers and the credential upload (disable it yourself once those reach them privately).')
param vnetEnabled bool = false

@description('Optional. Days the Log Analytics workspace keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

// Exactly one of mailboxes and mailbox names what to drain: fail() stops the deployment with the fix.
var mailboxesProblem = 'Name the mailboxes to drain in mailboxes, e.g. [\'invoices@contoso.com\', \'orders@contoso.com\'], or one in mailbox: one of the two, not both.'
// MAILBOXES in its JSON form takes objects only: an address alone becomes { mailbox: <address> }.
var mailboxEntries = empty(mailboxes) == empty(mailbox) ? fail(mailboxesProblem) : map(empty(mailboxes) ? [mailbox] : mailboxes, m => startsWith(string(m), '{') ? m : { mailbox: m })
// Where mailboxes send elsewhere than the deployment-wide queue and container; output-storage creates each once.
var mailboxQueueNames = map(filter(mailboxEntries, e => contains(e, 'outputQueue')), e => e.outputQueue)
var mailboxContainerNames = map(filter(mailboxEntries, e => contains(e, 'outputContainer')), e => e.outputContainer)

var suffix = uniqueString(resourceGroup().id, namePrefix)
// An application created here lives in this deployment's tenant, whatever tenantId says.
var appTenantId = createAppRegistration ? tenant().tenantId : tenantId
// Only a secret or a certificate is kept in Key Vault; federated reads nothing from it.
var useKeyVault = credentialType != 'federated'
var names = {
  identity: 'id-${namePrefix}-${suffix}'
  workspace: 'log-${namePrefix}-${suffix}'
  insights: 'appi-${namePrefix}-${suffix}'
  // Storage account names: 3-24 lowercase letters and digits.
  hostStorage: 'sthost${suffix}'
  outputStorage: 'stmail${suffix}'
  vault: take('kv-${namePrefix}-${suffix}', 24)
  plan: 'plan-${namePrefix}-${suffix}'
  site: 'func-${namePrefix}-${suffix}'
  vnet: 'vnet-${namePrefix}-${suffix}'
  natGateway: 'ng-${namePrefix}-${suffix}'
  privateEndpoint: 'pe-${namePrefix}-${suffix}'
  deploymentContainer: 'app-package'
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: names.workspace
    insightsName: names.insights
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
    publisherPrincipalId: identity.outputs.principalId
  }
}

module hostStorage 'modules/host-storage.bicep' = {
  name: 'host-storage'
  params: {
    name: names.hostStorage
    location: location
    tags: tags
    skuName: storageSkuName
    deploymentContainerName: names.deploymentContainer
    principalId: identity.outputs.principalId
    workspaceResourceId: monitoring.outputs.workspaceResourceId
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
  }
}

module outputStorage 'modules/output-storage.bicep' = {
  name: 'output-storage'
  params: {
    name: names.outputStorage
    location: location
    tags: tags
    skuName: storageSkuName
    queueName: outputQueueName
    mailboxQueueNames: mailboxQueueNames
    containerName: outputContainerName
    mailboxContainerNames: mailboxContainerNames
    drainRequestsQueueName: drainRequestsQueueName
    retentionDays: claimCheckRetentionDays
    softDeleteRetentionDays: blobSoftDeleteRetentionDays
    principalId: identity.outputs.principalId
    consumerPrincipalId: consumerPrincipalId
    consumerPrincipalType: consumerPrincipalType
    workspaceResourceId: monitoring.outputs.workspaceResourceId
  }
}

module keyVault 'modules/key-vault.bicep' = if (useKeyVault) {
  name: 'key-vault'
  params: {
    name: names.vault
    location: location
    tags: tags
    credentialType: credentialType
    credentialName: credentialName
    credentialExists: credentialExists
    readerPrincipalId: identity.outputs.principalId
    uploaderObjectId: grantDeployerCredentialUpload ? deployer().objectId : ''
    uploaderPrincipalType: credentialUploaderPrincipalType
    workspaceResourceId: monitoring.outputs.workspaceResourceId
  }
}

module appRegistration 'modules/app-registration.bicep' = if (createAppRegistration) {
  name: 'app-registration'
  params: {
    uniqueName: appRegistrationName
    displayName: appRegistrationName
    credentialType: credentialType
    managedIdentityPrincipalId: identity.outputs.principalId
    // Per deployment: two environments sharing one application must not replace each other's trust.
    federatedCredentialName: 'function-${suffix}'
  }
}

var appClientId = createAppRegistration ? appRegistration!.outputs.appId : clientId

module network 'modules/network.bicep' = if (vnetEnabled) {
  name: 'network'
  params: {
    name: names.vnet
    natGatewayName: names.natGateway
    location: location
    tags: tags
    keyVaultZone: useKeyVault
  }
}

module hostBlobEndpoint 'modules/private-endpoint.bicep' = if (vnetEnabled) {
  name: 'host-blob-endpoint'
  params: {
    name: '${names.privateEndpoint}-host-blob'
    location: location
    tags: tags
    subnetId: network!.outputs.privateEndpointSubnetId
    targetResourceId: hostStorage.outputs.resourceId
    groupId: 'blob'
    privateDnsZoneId: network!.outputs.blobZoneId
  }
}

module outputBlobEndpoint 'modules/private-endpoint.bicep' = if (vnetEnabled) {
  name: 'output-blob-endpoint'
  params: {
    name: '${names.privateEndpoint}-mail-blob'
    location: location
    tags: tags
    subnetId: network!.outputs.privateEndpointSubnetId
    targetResourceId: outputStorage.outputs.resourceId
    groupId: 'blob'
    privateDnsZoneId: network!.outputs.blobZoneId
  }
}

module outputQueueEndpoint 'modules/private-endpoint.bicep' = if (vnetEnabled) {
  name: 'output-queue-endpoint'
  params: {
    name: '${names.privateEndpoint}-mail-queue'
    location: location
    tags: tags
    subnetId: network!.outputs.privateEndpointSubnetId
    targetResourceId: outputStorage.outputs.resourceId
    groupId: 'queue'
    privateDnsZoneId: network!.outputs.queueZoneId
  }
}

module vaultEndpoint 'modules/private-endpoint.bicep' = if (vnetEnabled && useKeyVault) {
  name: 'vault-endpoint'
  params: {
    name: '${names.privateEndpoint}-vault'
    location: location
    tags: tags
    subnetId: network!.outputs.privateEndpointSubnetId
    targetResourceId: keyVault!.outputs.resourceId
    groupId: 'vault'
    privateDnsZoneId: network!.outputs.vaultZoneId
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  params: {
    name: names.site
    planName: names.plan
    location: location
    tags: tags
    identityResourceId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    hostBlobEndpoint: hostStorage.outputs.blobEndpoint
    deploymentContainerUrl: hostStorage.outputs.deploymentContainerUrl
    appInsightsName: monitoring.outputs.insightsName
    appSubnetId: vnetEnabled ? network!.outputs.appSubnetId : ''
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    tenantId: appTenantId
    clientId: appClientId
    credentialType: credentialType
    credentialName: credentialName
    // The settings module treats an empty value as unset: federated needs no vault.
    keyVaultUri: useKeyVault ? keyVault!.outputs.uri : ''
    // MAILBOX when the one mailbox is named so, MAILBOXES otherwise; the other stays empty (unset).
    mailbox: mailbox
    mailboxes: empty(mailboxes) ? [] : mailboxEntries
    mailFolder: mailFolder
    imapHost: imapHost
    imapPort: imapPort
    afterProcessing: afterProcessing
    processedFolder: processedFolder
    failedFolder: failedFolder
    outputQueueName: outputQueueName
    outputContainerName: outputContainerName
    drainRequestsQueueName: drainRequestsQueueName
    outputQueueEndpoint: outputStorage.outputs.queueEndpoint
    outputBlobEndpoint: outputStorage.outputs.blobEndpoint
    drainSchedule: drainSchedule
    credentialExpiryWarningDays: credentialExpiryWarningDays
    maxMessageBytes: maxMessageBytes
    maxAttempts: maxAttempts
    authorityHost: authorityHost
    logLevel: logLevel
  }
  // With vnetEnabled the host reaches its storage only through the private endpoint.
  dependsOn: [
    hostBlobEndpoint
  ]
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    tags: tags
    namePrefix: namePrefix
    workspaceResourceId: monitoring.outputs.workspaceResourceId
    mailboxes: mailboxEntries
    mailFolder: mailFolder
    alertEmail: alertEmail
    alertWebhookUrl: alertWebhookUrl
    heartbeatMinutes: alertHeartbeatMinutes
    backlogMinutes: alertBacklogMinutes
    credentialExpiryWarningDays: credentialExpiryWarningDays
  }
}

@description('Name of the function app (az functionapp deployment source config-zip --name).')
output functionAppName string = functionApp.outputs.name

@description('Client ID of the function\'s user-assigned managed identity.')
output identityClientId string = identity.outputs.clientId

@description('Principal (object) ID of the function\'s user-assigned managed identity.')
output identityPrincipalId string = identity.outputs.principalId

@description('Name of the Key Vault that holds the credential; empty for federated, which deploys none.')
output keyVaultName string = useKeyVault ? keyVault!.outputs.name : ''

@description('Resource ID of the Key Vault; empty for federated.')
output keyVaultResourceId string = useKeyVault ? keyVault!.outputs.resourceId : ''

@description('URI of the Key Vault (KEY_VAULT_URL); empty for federated.')
output keyVaultUri string = useKeyVault ? keyVault!.outputs.uri : ''

@description('Name of the Key Vault secret or certificate the drain reads; empty for federated.')
output credentialName string = credentialType == 'federated' ? '' : credentialName

@description('Where the function holds Key Vault Secrets User: "credential", "vault" (until redeployed with credentialExists=true) or "none" (federated).')
output keyVaultReaderScope string = useKeyVault ? keyVault!.outputs.readerScope : 'none'

@description('Name of the output storage account (queues and claim-check container).')
output outputStorageAccountName string = outputStorage.outputs.name

@description('URL of the deployment-wide output queue; a mailbox with its own outputQueue sends there instead.')
output queueUrl string = outputStorage.outputs.queueUrl

@description('URL of its poison queue.')
output poisonQueueUrl string = outputStorage.outputs.poisonQueueUrl

@description('URL of the deployment-wide claim-check container.')
output containerUrl string = outputStorage.outputs.containerUrl

@description('URL of the queue of drain requests; failed requests end up on "<it>-poison".')
output drainRequestsQueueUrl string = outputStorage.outputs.drainRequestsQueueUrl

@description('Name of the Application Insights component, for log queries.')
output appInsightsName string = monitoring.outputs.insightsName

@description('Directory (tenant) ID of the app registration (TENANT_ID): this deployment\'s tenant when the registration was created here.')
output tenantId string = appTenantId

@description('Application (client) ID of the app registration (exchange-setup.ps1 -AppId).')
output appRegistrationClientId string = appClientId

@description('Object ID of the app registration\'s Enterprise application (exchange-setup.ps1 -ServicePrincipalObjectId); empty when the registration was not created here: az ad sp show --id <client id> --query id -o tsv.')
output enterpriseAppObjectId string = createAppRegistration ? appRegistration!.outputs.servicePrincipalObjectId : ''
