metadata name = 'App registration'
metadata description = 'The Entra application the drain signs in as, through the Microsoft Graph Bicep extension: the application, its service principal (Enterprise application), admin consent for Office 365 Exchange Online IMAP.AccessAsApp, and for "federated" a federated identity credential that trusts the function\'s managed identity, so no secret exists. The deploying user needs Entra rights to create applications and grant admin consent.'

extension microsoftGraphV1

@description('Required. Unique name of the application (its Graph uniqueName): redeploying with the same name updates the same application.')
param uniqueName string

@description('Required. Display name of the application and its Enterprise application.')
param displayName string

@description('Required. How the drain proves the application\'s identity. Only "federated" adds a credential here; a secret or certificate is added after the deployment and kept in Key Vault.')
@allowed([
  'secret'
  'certificate'
  'federated'
])
param credentialType string

@description('Required. Principal (object) ID of the function\'s managed identity, the subject a federated credential trusts.')
param managedIdentityPrincipalId string

@description('Required. Name of the federated identity credential, unique per deployment: it is the credential\'s key within the application, so a fixed name would let a second deployment sharing the application replace the first one\'s trust.')
@minLength(1)
@maxLength(120)
param federatedCredentialName string

// Office 365 Exchange Online
var exchangeOnlineAppId = '00000002-0000-0ff1-ce00-000000000000'

resource exchangeOnline 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: exchangeOnlineAppId
}

// An app role's ID is defined by its resource application; look it up by its value.
var imapAccessAsApp = filter(exchangeOnline.appRoles, appRole => appRole.value == 'IMAP.AccessAsApp')[0]

resource application 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
  // Shown as the configured permission under API permissions.
  requiredResourceAccess: [
    {
      resourceAppId: exchangeOnlineAppId
      resourceAccess: [
        {
          id: imapAccessAsApp.id
          type: 'Role'
        }
      ]
    }
  ]
}

resource servicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: application.appId
}

// Admin consent: the app role assignment itself.
resource imapConsent 'Microsoft.Graph/appRoleAssignedTo@v1.0' = {
  appRoleId: imapAccessAsApp.id
  principalId: servicePrincipal.id
  resourceId: exchangeOnline.id
}

resource managedIdentityCredential 'Microsoft.Graph/applications/federatedIdentityCredentials@v1.0' = if (credentialType == 'federated') {
  name: '${application.uniqueName}/${federatedCredentialName}'
  description: 'The mail-drain function app\'s user-assigned managed identity'
  audiences: [
    'api://AzureADTokenExchange'
  ]
  // The managed identity's tokens come from this deployment's tenant, where the application is created.
  issuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
  subject: managedIdentityPrincipalId
}

@description('Application (client) ID of the app registration (CLIENT_ID, and New-ServicePrincipal -AppId).')
output appId string = application.appId

@description('Object ID of the Enterprise application (New-ServicePrincipal -ObjectId).')
output servicePrincipalObjectId string = servicePrincipal.id
