metadata name = 'Function app'
metadata description = 'Flex Consumption plan and Linux function app (Node 22) running as the user-assigned identity, with every setting the drain reads (shared/config/settingsSchema.ts) and identity-based connections only.'

@description('Required. Name of the function app (globally unique host name).')
param name string

@description('Required. Name of the Flex Consumption plan.')
param planName string

@description('Required. Azure region of the plan and the app; must offer Flex Consumption.')
param location string

@description('Optional. Tags applied to the plan and the app.')
param tags object = {}

@description('Required. Resource ID of the user-assigned identity the app runs as.')
param identityResourceId string

@description('Required. Client ID of that identity.')
param identityClientId string

@description('Required. Blob endpoint of the host storage account.')
param hostBlobEndpoint string

@description('Required. URL of the blob container that holds the deployment package.')
param deploymentContainerUrl string

@description('Required. Name of the Application Insights component in this resource group.')
param appInsightsName string

@description('Optional. Resource ID of the subnet the app is integrated into (vnetEnabled); empty: no virtual network.')
param appSubnetId string = ''

@description('Optional. Most instances the app scales out to: with one drain per instance (host.json), the most mailboxes drained at once.')
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

// The drain's own settings, one parameter each; see shared/config/settingsSchema.ts for their meaning.

@description('Required. TENANT_ID: tenant of the app registration.')
param tenantId string

@description('Required. CLIENT_ID: application (client) ID of the app registration.')
param clientId string

@description('Required. CREDENTIAL_TYPE.')
@allowed([
  'secret'
  'certificate'
  'federated'
])
param credentialType string

@description('Required. Key Vault name of the secret or certificate; unused for federated.')
param credentialName string

@description('Required. KEY_VAULT_URL; empty for federated, which reads nothing from Key Vault.')
param keyVaultUri string

@description('Optional. MAILBOX: the one mailbox to drain; empty when mailboxes lists them.')
param mailbox string = ''

@description('Optional. MAILBOXES, as objects { mailbox, folder?, afterProcessing?, processedFolder?, failedFolder?, outputQueue?, outputContainer?, enabled? }; empty when mailbox names the one mailbox.')
param mailboxes array = []

@description('Optional. MAIL_FOLDER.')
param mailFolder string = 'INBOX'

@description('Optional. IMAP_HOST.')
param imapHost string = 'outlook.office365.com'

@description('Optional. IMAP_PORT.')
param imapPort int = 993

@description('Optional. AFTER_PROCESSING.')
@allowed([
  'move'
  'delete'
  'flag'
])
param afterProcessing string = 'move'

@description('Optional. PROCESSED_FOLDER.')
param processedFolder string = 'Processed'

@description('Optional. FAILED_FOLDER.')
param failedFolder string = 'Failed'

@description('Optional. OUTPUT_QUEUE.')
param outputQueueName string = 'inbound-mail'

@description('Optional. OUTPUT_CONTAINER.')
param outputContainerName string = 'inbound-mail'

@description('Optional. DRAIN_REQUESTS_QUEUE, in the output account.')
param drainRequestsQueueName string = 'mail-drain-requests'

@description('Required. OUTPUT_STORAGE__queueServiceUri: queue endpoint of the output account.')
param outputQueueEndpoint string

@description('Required. OUTPUT_STORAGE__blobServiceUri: blob endpoint of the output account.')
param outputBlobEndpoint string

@description('Optional. DRAIN_SCHEDULE (NCRONTAB with seconds).')
param drainSchedule string = '0 */5 * * * *'

@description('Optional. CREDENTIAL_EXPIRY_WARNING_DAYS.')
@minValue(0)
param credentialExpiryWarningDays int = 30

@description('Optional. MAX_MESSAGE_BYTES.')
@minValue(1000)
param maxMessageBytes int = 52428800

@description('Optional. MAX_ATTEMPTS.')
@minValue(1)
@maxValue(100)
param maxAttempts int = 5

@description('Optional. AZURE_AUTHORITY_HOST.')
param authorityHost string = environment().authentication.loginEndpoint

@description('Optional. LOG_LEVEL.')
@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
param logLevel string = 'info'

// The host filters its Function category (what the drain logs through the worker) before
// Application Insights sees it; host.json says Information, so without this LOG_LEVEL=debug
// would show nothing there. .NET log level names, per LOG_LEVEL.
var hostLogLevels = {
  debug: 'Debug'
  info: 'Information'
  warn: 'Warning'
  error: 'Error'
}

// azd deploys the service "api" of azure.yaml to the app that carries this tag.
var siteTags = union(tags, {
  'azd-service-name': 'api'
})

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    // Linux
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-11-01' = {
  name: name
  location: location
  tags: siteTags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityResourceId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(appSubnetId) ? null : appSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Deployments authenticate with Entra ID; publishing user names and passwords stay off.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

// test/infra/app-settings.test.ts compares these names with shared/config/settingsSchema.ts and with
// its allow-list of host settings. Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION and WEBSITE_RUN_FROM_PACKAGE: functionAppConfig says them.
resource appSettings 'Microsoft.Web/sites/config@2024-11-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    // Functions host storage, through the identity.
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    // Blobs only: a timer trigger keeps its locks and schedule monitor there (modules/host-storage.bicep).
    AzureWebJobsStorage__blobServiceUri: hostBlobEndpoint
    // Telemetry, authenticated with the identity (the component disables local auth): the host's, and the drain's metrics.
    APPLICATIONINSIGHTS_CONNECTION_STRING: insights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'

    // The drain, in the order of shared/config/settingsSchema.ts.
    TENANT_ID: tenantId
    CLIENT_ID: clientId
    CREDENTIAL_TYPE: credentialType
    KEY_VAULT_URL: keyVaultUri
    // The settings module treats an empty value as unset.
    CLIENT_SECRET_NAME: credentialType == 'secret' ? credentialName : ''
    CLIENT_CERTIFICATE_NAME: credentialType == 'certificate' ? credentialName : ''
    CREDENTIAL_EXPIRY_WARNING_DAYS: string(credentialExpiryWarningDays)
    MAILBOX: mailbox
    // JSON, the form of MAILBOXES that carries per-mailbox overrides.
    MAILBOXES: empty(mailboxes) ? '' : string(mailboxes)
    MAIL_FOLDER: mailFolder
    IMAP_HOST: imapHost
    IMAP_PORT: string(imapPort)
    AFTER_PROCESSING: afterProcessing
    PROCESSED_FOLDER: processedFolder
    FAILED_FOLDER: failedFolder
    MAX_MESSAGE_BYTES: string(maxMessageBytes)
    MAX_ATTEMPTS: string(maxAttempts)
    OUTPUT_QUEUE: outputQueueName
    OUTPUT_CONTAINER: outputContainerName
    // Read by the timer, which sends to it, and by the queue trigger's binding (connection OUTPUT_STORAGE).
    DRAIN_REQUESTS_QUEUE: drainRequestsQueueName
    // Empty on purpose: a connection string needs shared keys, which the account refuses.
    OUTPUT_STORAGE: ''
    OUTPUT_STORAGE__queueServiceUri: outputQueueEndpoint
    OUTPUT_STORAGE__blobServiceUri: outputBlobEndpoint
    OUTPUT_STORAGE__credential: 'managedidentity'
    OUTPUT_STORAGE__clientId: identityClientId
    DRAIN_SCHEDULE: drainSchedule
    // ManagedIdentityCredential (in the function app) picks the user-assigned identity by this client ID.
    AZURE_CLIENT_ID: identityClientId
    AZURE_AUTHORITY_HOST: authorityHost
    LOG_LEVEL: logLevel
    // Per-mailbox metrics to Application Insights (auto: the connection string above), through the identity.
    METRICS_EXPORTER: 'auto'
    METRICS_FILE: ''
    // host.json's logging.logLevel.Function, overridden from the same parameter.
    AzureFunctionsJobHost__logging__logLevel__Function: hostLogLevels[logLevel]
  }
}

@description('Name of the function app.')
output name string = site.name

@description('Default host name of the function app.')
output defaultHostName string = site.properties.defaultHostName
