metadata name = 'Function identity'
metadata description = 'The one user-assigned managed identity the function app uses for everything: host storage, output storage, Key Vault and Application Insights.'

@description('Required. Name of the user-assigned managed identity.')
param name string

@description('Required. Azure region of the identity.')
param location string

@description('Optional. Tags applied to the identity.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

@description('Resource ID of the identity, for the function app\'s identity list and its deployment storage authentication.')
output resourceId string = identity.id

@description('Client ID of the identity (AZURE_CLIENT_ID and every __clientId setting).')
output clientId string = identity.properties.clientId

@description('Principal (object) ID of the identity, the assignee of every role assignment.')
output principalId string = identity.properties.principalId
