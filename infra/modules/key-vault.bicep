metadata name = 'Credential vault'
metadata description = 'Key Vault (RBAC authorization, soft delete, purge protection) for the app registration\'s client secret or certificate. The template never sees the credential: it is uploaded after the deployment.'

@description('Required. Name of the vault (3-24 letters, digits and dashes, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Required. Azure region of the vault.')
param location string

@description('Optional. Tags applied to the vault.')
param tags object = {}

@description('Required. How the app registration proves its identity. "federated" keeps nothing in the vault, so the function gets no role on it.')
@allowed([
  'secret'
  'certificate'
  'federated'
])
param credentialType string

@description('Required. Name of the secret, or of the certificate (whose private key Key Vault keeps in a secret of the same name).')
param credentialName string

@description('Required. Whether the secret or certificate already exists. True: Key Vault Secrets User is scoped to it alone. False: a role cannot be assigned on a secret that does not exist yet, so it is scoped to the vault, which holds nothing else.')
param credentialExists bool

@description('Required. Principal (object) ID of the function identity, which reads the credential.')
param readerPrincipalId string

@description('Optional. Object ID of the user or pipeline that uploads the credential (main.bicep passes deployer().objectId when asked to); gets Key Vault Secrets Officer (secret) or Key Vault Certificates Officer (certificate) on the vault. Empty: no such assignment. Remove it once the credential is uploaded.')
param uploaderObjectId string = ''

@description('Optional. Principal type of uploaderObjectId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param uploaderPrincipalType string = 'User'

@description('Required. Resource ID of the Log Analytics workspace that receives the vault\'s AuditEvent log: who read or changed the credential, and when.')
param workspaceResourceId string

var roleIds = {
  // Key Vault Secrets User
  secretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  // Key Vault Secrets Officer
  secretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  // Key Vault Certificates Officer
  certificatesOfficer: 'a4417e6f-fecd-4de8-b567-7b0420556985'
}

var inVault = credentialType != 'federated'

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    // A Flex Consumption app without virtual network integration reaches the vault over its public endpoint.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: workspaceResourceId
    logs: [
      {
        // Every read of the credential, by the function identity or anyone else.
        category: 'AuditEvent'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

// Referenced only as a role assignment scope, and only once it exists.
resource credential 'Microsoft.KeyVault/vaults/secrets@2024-11-01' existing = {
  parent: vault
  name: credentialName
}

resource readerOnCredential 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (inVault && credentialExists) {
  name: guid(credential.id, readerPrincipalId, roleIds.secretsUser)
  scope: credential
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.secretsUser)
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
    description: 'mail-drain: read the app registration credential'
  }
}

resource readerOnVault 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (inVault && !credentialExists) {
  name: guid(vault.id, readerPrincipalId, roleIds.secretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.secretsUser)
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
    description: 'mail-drain: read the app registration credential (vault scope until the credential exists)'
  }
}

resource secretUploader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (credentialType == 'secret' && !empty(uploaderObjectId)) {
  name: guid(vault.id, uploaderObjectId, roleIds.secretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.secretsOfficer)
    principalId: uploaderObjectId
    principalType: uploaderPrincipalType
    description: 'mail-drain: upload the app registration\'s client secret'
  }
}

resource certificateUploader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (credentialType == 'certificate' && !empty(uploaderObjectId)) {
  name: guid(vault.id, uploaderObjectId, roleIds.certificatesOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.certificatesOfficer)
    principalId: uploaderObjectId
    principalType: uploaderPrincipalType
    description: 'mail-drain: import the app registration\'s certificate'
  }
}

@description('Name of the vault.')
output name string = vault.name

@description('Resource ID of the vault.')
output resourceId string = vault.id

@description('URI of the vault (KEY_VAULT_URL).')
output uri string = vault.properties.vaultUri

@description('Where the function identity holds Key Vault Secrets User: "credential" (the one secret), "vault" (until the credential exists) or "none" (federated).')
output readerScope string = !inVault ? 'none' : (credentialExists ? 'credential' : 'vault')
