metadata name = 'Private network'
metadata description = 'With vnetEnabled: the virtual network the function app is integrated into, a subnet for private endpoints, a NAT gateway for the outbound traffic the drain needs on the internet (Exchange Online IMAP, Entra ID), and the private DNS zones that make storage and Key Vault names resolve to their private endpoints inside the network.'

@description('Required. Name of the virtual network.')
param name string

@description('Required. Name of the NAT gateway and, with a "pip-" prefix, of its public IP address.')
param natGatewayName string

@description('Required. Azure region of the network resources.')
param location string

@description('Optional. Tags applied to every resource.')
param tags object = {}

@description('Optional. Address space of the virtual network.')
param addressPrefix string = '10.0.0.0/16'

@description('Optional. Subnet the function app is integrated into (delegated to Microsoft.App/environments, as Flex Consumption requires).')
param appSubnetPrefix string = '10.0.1.0/24'

@description('Optional. Subnet of the private endpoints.')
param privateEndpointSubnetPrefix string = '10.0.2.0/24'

@description('Optional. Create the Key Vault private DNS zone (false when no vault is deployed: federated).')
param keyVaultZone bool = true

// Names of the private DNS zones, from this cloud's suffixes (privatelink.blob.core.windows.net
// and privatelink.vaultcore.azure.net in the public cloud).
var zoneNames = {
  blob: 'privatelink.blob.${environment().suffixes.storage}'
  queue: 'privatelink.queue.${environment().suffixes.storage}'
  vault: 'privatelink${replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.')}'
}

// Private DNS zones are global resources, whatever the region of the rest.
var dnsZoneLocation = 'global'

resource publicIp 'Microsoft.Network/publicIPAddresses@2024-07-01' = {
  name: 'pip-${natGatewayName}'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    publicIPAllocationMethod: 'Static'
    publicIPAddressVersion: 'IPv4'
  }
}

// A Flex Consumption app integrated into a subnet sends all its outbound traffic through it,
// and the subnet has no default outbound access: IMAP and Entra ID go out through this.
resource natGateway 'Microsoft.Network/natGateways@2024-07-01' = {
  name: natGatewayName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    idleTimeoutInMinutes: 4
    publicIpAddresses: [
      {
        id: publicIp.id
      }
    ]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          defaultOutboundAccess: false
          natGateway: {
            id: natGateway.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          defaultOutboundAccess: false
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource blobZone 'Microsoft.Network/privateDnsZones@2024-06-01' = {
  name: zoneNames.blob
  location: dnsZoneLocation
  tags: tags
}

resource queueZone 'Microsoft.Network/privateDnsZones@2024-06-01' = {
  name: zoneNames.queue
  location: dnsZoneLocation
  tags: tags
}

resource vaultZone 'Microsoft.Network/privateDnsZones@2024-06-01' = if (keyVaultZone) {
  name: zoneNames.vault
  location: dnsZoneLocation
  tags: tags
}

resource blobZoneLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = {
  parent: blobZone
  name: name
  location: dnsZoneLocation
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
}

resource queueZoneLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = {
  parent: queueZone
  name: name
  location: dnsZoneLocation
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
}

resource vaultZoneLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = if (keyVaultZone) {
  parent: vaultZone
  name: name
  location: dnsZoneLocation
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
}

@description('Resource ID of the subnet the function app is integrated into.')
output appSubnetId string = '${vnet.id}/subnets/app'

@description('Resource ID of the private endpoints\' subnet.')
output privateEndpointSubnetId string = '${vnet.id}/subnets/private-endpoints'

@description('Resource ID of the blob private DNS zone.')
output blobZoneId string = blobZone.id

@description('Resource ID of the queue private DNS zone.')
output queueZoneId string = queueZone.id

@description('Resource ID of the Key Vault private DNS zone; empty without it.')
output vaultZoneId string = keyVaultZone ? vaultZone.id : ''
