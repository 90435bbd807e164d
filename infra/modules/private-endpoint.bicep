metadata name = 'Private endpoint'
metadata description = 'One private endpoint for one sub-resource (blob, queue, vault) of a storage account or Key Vault, registered in the private DNS zone that makes the resource\'s name resolve to it inside the virtual network.'

@description('Required. Name of the private endpoint.')
param name string

@description('Required. Azure region of the private endpoint (that of its virtual network).')
param location string

@description('Optional. Tags applied to the private endpoint.')
param tags object = {}

@description('Required. Resource ID of the subnet the endpoint gets its address in.')
param subnetId string

@description('Required. Resource ID of the storage account or Key Vault.')
param targetResourceId string

@description('Required. Sub-resource the endpoint connects to.')
@allowed([
  'blob'
  'queue'
  'vault'
])
param groupId string

@description('Required. Resource ID of the private DNS zone for that sub-resource.')
param privateDnsZoneId string

resource endpoint 'Microsoft.Network/privateEndpoints@2024-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: targetResourceId
          groupIds: [
            groupId
          ]
        }
      }
    ]
  }
}

resource dnsZoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-07-01' = {
  parent: endpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: groupId
        properties: {
          privateDnsZoneId: privateDnsZoneId
        }
      }
    ]
  }
}

@description('Resource ID of the private endpoint.')
output resourceId string = endpoint.id
