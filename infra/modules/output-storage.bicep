metadata name = 'Mail output storage'
metadata description = 'The storage account the drain writes to: one queue message per mail, its poison queue, and the claim-check container for raw messages and large content. A lifecycle rule expires the claim-check blobs under messages/ only, never the drain\'s lease state (locks/) or quarantined mail (quarantine/); blob and container soft delete keep anything deleted recoverable for a while. Shared keys are disabled; the function identity may only send to the two queues and write to the one container.'

@description('Required. Name of the storage account (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Required. Azure region of the account.')
param location string

@description('Optional. Tags applied to the account.')
param tags object = {}

@description('Optional. Redundancy of the account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Required. Queue that receives one message per mail (OUTPUT_QUEUE). Its poison queue is this name with "-poison" appended.')
@minLength(3)
@maxLength(56)
param queueName string

@description('Required. Claim-check container for raw messages, attachments and oversized payloads (OUTPUT_CONTAINER).')
@minLength(3)
@maxLength(63)
param containerName string

@description('Required. Days after its last modification that a claim-check blob (raw message, attachment, oversized payload or body under messages/ in the container) is deleted. Only blobs under messages/ expire: the drain\'s lease state (locks/) and quarantined mail (quarantine/) never do. Keep it longer than consumers may take to read the queue.')
@minValue(1)
param retentionDays int

@description('Required. Days a deleted blob, and a deleted container, can still be restored (blob and container soft delete), whoever or whatever deleted it, the lifecycle rule included.')
@minValue(1)
@maxValue(365)
param softDeleteRetentionDays int

@description('Required. Principal (object) ID of the function identity.')
param principalId string

@description('Required. Resource ID of the Log Analytics workspace that receives the queue and blob services\' read, write and delete logs: who read or removed mail.')
param workspaceResourceId string

var roleIds = {
  // Storage Queue Data Message Sender
  queueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  // Storage Blob Data Contributor
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
}

// The Functions convention for a queue's dead letters.
var poisonQueueName = '${queueName}-poison'

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-01-01' = {
  parent: account
  name: 'default'
}

resource queue 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = {
  parent: queueService
  name: queueName
}

resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = {
  parent: queueService
  name: poisonQueueName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: account
  name: 'default'
  properties: {
    // A deleted blob (a lease, a quarantined message, an expired claim check) or the
    // container itself stays restorable for this many days.
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionDays
    }
  }
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2025-01-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-claim-checks'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              // A prefix match starts with the container name. Only the claim-check
              // blobs (messages/<id>/...) expire; the drain's lease state (locks/) and
              // quarantined mail (quarantine/) live in the same container and must not.
              prefixMatch: [
                '${containerName}/messages/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: retentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    container
  ]
}

resource queueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, principalId, roleIds.queueDataMessageSender)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.queueDataMessageSender)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'mail-drain: send one message per mail'
  }
}

resource poisonQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(poisonQueue.id, principalId, roleIds.queueDataMessageSender)
  scope: poisonQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.queueDataMessageSender)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'mail-drain: send messages that cannot be handed off normally'
  }
}

resource containerContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(container.id, principalId, roleIds.blobDataContributor)
  scope: container
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.blobDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'mail-drain: write claim-check blobs'
  }
}

// Every read, write and delete of mail, by the drain, a consumer or anyone else.
var storageLogs = [
  {
    category: 'StorageRead'
    enabled: true
  }
  {
    category: 'StorageWrite'
    enabled: true
  }
  {
    category: 'StorageDelete'
    enabled: true
  }
]

resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: queueService
  properties: {
    workspaceId: workspaceResourceId
    logs: storageLogs
  }
}

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: blobService
  properties: {
    workspaceId: workspaceResourceId
    logs: storageLogs
  }
}

@description('Name of the account.')
output name string = account.name

@description('Resource ID of the account, the target of its private endpoints.')
output resourceId string = account.id

@description('Queue service endpoint (OUTPUT_STORAGE__queueServiceUri).')
output queueEndpoint string = account.properties.primaryEndpoints.queue

@description('Blob service endpoint (OUTPUT_STORAGE__blobServiceUri).')
output blobEndpoint string = account.properties.primaryEndpoints.blob

@description('URL of the output queue.')
output queueUrl string = '${account.properties.primaryEndpoints.queue}${queue.name}'

@description('URL of the poison queue.')
output poisonQueueUrl string = '${account.properties.primaryEndpoints.queue}${poisonQueue.name}'

@description('URL of the claim-check container.')
output containerUrl string = '${account.properties.primaryEndpoints.blob}${container.name}'
