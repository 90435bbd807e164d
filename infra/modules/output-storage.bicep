metadata name = 'Mail output storage'
metadata description = 'The storage account the drain writes to: one queue message per mail on the output queue (the default one, and each mailbox\'s own), each with its poison queue; the claim-check containers for raw messages and large content; and the queue of drain requests with its poison queue. A lifecycle rule per container expires the claim-check blobs under messages/ only, never the drain\'s lease state (locks/) or quarantined mail (quarantine/); blob and container soft delete keep anything deleted recoverable for a while. Shared keys are disabled; the function identity may only send to the output queues, write to the containers, and send and take drain requests; an optional consumer identity may only take mail messages and read their blobs.'

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

@description('Optional. Output queues of mailboxes that send elsewhere than queueName (the outputQueue of MAILBOXES entries), each created like queueName: with its "-poison" queue and the same role. Repeats and queueName itself are created once.')
param mailboxQueueNames string[] = []

@description('Required. Claim-check container for raw messages, attachments and oversized payloads (OUTPUT_CONTAINER).')
@minLength(3)
@maxLength(63)
param containerName string

@description('Optional. Claim-check containers of mailboxes that keep their blobs elsewhere than containerName (the outputContainer of MAILBOXES entries), each created like containerName: with its lifecycle rule and the same role. Repeats and containerName itself are created once.')
param mailboxContainerNames string[] = []

@description('Required. Queue of drain requests (DRAIN_REQUESTS_QUEUE): the timer sends one per enabled mailbox, the queue-triggered function takes them. Its poison queue, where the Functions host moves a request that failed host.json\'s maxDequeueCount times, is this name with "-poison" appended.')
@minLength(3)
@maxLength(56)
param drainRequestsQueueName string

@description('Required. Days after its last modification that a claim-check blob (raw message, attachment, oversized payload or body under messages/ in the container) is deleted. Only blobs under messages/ expire: the drain\'s lease state (locks/) and quarantined mail (quarantine/) never do. Keep it longer than consumers may take to read the queue.')
@minValue(1)
param retentionDays int

@description('Required. Days a deleted blob, and a deleted container, can still be restored (blob and container soft delete), whoever or whatever deleted it, the lifecycle rule included.')
@minValue(1)
@maxValue(365)
param softDeleteRetentionDays int

@description('Required. Principal (object) ID of the function identity.')
param principalId string

@description('Optional. Principal (object) ID of a consumer of the output queues: given Storage Queue Data Message Processor on each output queue, Storage Queue Data Message Sender on its poison queue (where a queue-triggered consumer\'s host moves what it failed maxDequeueCount times), and Storage Blob Data Reader on each claim-check container. Empty: no consumer roles.')
param consumerPrincipalId string = ''

@description('Optional. Principal type of consumerPrincipalId: ServicePrincipal for a managed identity or an app, Group or User otherwise.')
@allowed([
  'ServicePrincipal'
  'Group'
  'User'
])
param consumerPrincipalType string = 'ServicePrincipal'

@description('Required. Resource ID of the Log Analytics workspace that receives the queue and blob services\' read, write and delete logs: who read or removed mail.')
param workspaceResourceId string

var roleIds = {
  // Storage Queue Data Message Sender
  queueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  // Storage Queue Data Contributor
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  // Storage Blob Data Contributor
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  // Storage Queue Data Message Processor
  queueDataMessageProcessor: '8a0f0c08-91a1-4084-bc3d-661d67233fed'
  // Storage Blob Data Reader
  blobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
}

var grantConsumer = !empty(consumerPrincipalId)

// Every output queue and claim-check container, the deployment-wide one first, each once
// (union keeps one of each value).
var queueNames = union([queueName], mailboxQueueNames)
var containerNames = union([containerName], mailboxContainerNames)

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

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = [
  for queue in queueNames: {
    parent: queueService
    name: queue
  }
]

// The Functions convention for a queue's dead letters: the drain reports quarantined mail there.
resource poisonQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = [
  for queue in queueNames: {
    parent: queueService
    name: '${queue}-poison'
  }
]

resource drainRequests 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = {
  parent: queueService
  name: drainRequestsQueueName
}

// Created here: the host would create it with its first failed request, which the identity,
// a sender only, may not do.
resource drainRequestsPoison 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = {
  parent: queueService
  name: '${drainRequestsQueueName}-poison'
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

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = [
  for container in containerNames: {
    parent: blobService
    name: container
    properties: {
      publicAccess: 'None'
    }
  }
]

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2025-01-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      // One rule per container: a rule takes at most 10 prefixes, a policy 100 rules.
      rules: [
        for container in containerNames: {
          name: 'delete-claim-checks-${container}'
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
                '${container}/messages/'
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
    containers
  ]
}

// queues[i].id is the resource ID the single queue had: a redeployment finds the assignment
// it made then under the same name (another name would fail with RoleAssignmentExists).
resource queueSenders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for i in range(0, length(queueNames)): {
    name: guid(queues[i].id, principalId, roleIds.queueDataMessageSender)
    scope: queues[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.queueDataMessageSender)
      principalId: principalId
      principalType: 'ServicePrincipal'
      description: 'mail-drain: send one message per mail'
    }
  }
]

resource poisonQueueSenders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for i in range(0, length(queueNames)): {
    name: guid(poisonQueues[i].id, principalId, roleIds.queueDataMessageSender)
    scope: poisonQueues[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.queueDataMessageSender)
      principalId: principalId
      principalType: 'ServicePrincipal'
      description: 'mail-drain: send messages that cannot be handed off normally'
    }
  }
]

resource containerContributors 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for i in range(0, length(containerNames)): {
    name: guid(containers[i].id, principalId, roleIds.blobDataContributor)
    scope: containers[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.blobDataContributor)
      principalId: principalId
      principalType: 'ServicePrincipal'
      description: 'mail-drain: write claim-check blobs'
    }
  }
]

// The timer and a drain's follow-up send requests (Put Message); the host's queue trigger
// takes them (Get Messages, Delete Message), reads the queue's length to scale (Get Queue
// Metadata), and updates a request's visibility (Update Message: renewed every 5 minutes
// of a drain, and a failed one released after host.json's visibilityTimeout). Update
// Message needs messages/write, which Storage Queue Data Reader and Message Processor (the
// roles Microsoft lists for a queue trigger) lack; Contributor is the narrowest built-in
// role that has it, here on this one queue, which holds requests, no mail (infra/roles.md).
resource drainRequestsContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(drainRequests.id, principalId, roleIds.queueDataContributor)
  scope: drainRequests
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.queueDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'mail-drain: send, take and release drain requests'
  }
}

resource drainRequestsPoisonSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(drainRequestsPoison.id, principalId, roleIds.queueDataMessageSender)
  scope: drainRequestsPoison
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.queueDataMessageSender)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'mail-drain: the host moves a request that keeps failing here'
  }
}

// A consumer's roles, on the same queues and containers, only when consumerPrincipalId is given:
// take and delete mail messages, read their blobs. Nothing that writes mail, deletes a blob or
// reaches the drain requests.
resource consumerQueueProcessors 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for i in range(0, length(queueNames)): if (grantConsumer) {
    name: guid(queues[i].id, consumerPrincipalId, roleIds.queueDataMessageProcessor)
    scope: queues[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.queueDataMessageProcessor)
      principalId: consumerPrincipalId
      principalType: consumerPrincipalType
      description: 'mail-drain consumer: take and delete mail messages'
    }
  }
]

// A queue-triggered consumer's host moves a message it failed maxDequeueCount times to
// <queue>-poison, next to the drain's quarantine notices.
resource consumerPoisonSenders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for i in range(0, length(queueNames)): if (grantConsumer) {
    name: guid(poisonQueues[i].id, consumerPrincipalId, roleIds.queueDataMessageSender)
    scope: poisonQueues[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.queueDataMessageSender)
      principalId: consumerPrincipalId
      principalType: consumerPrincipalType
      description: 'mail-drain consumer: its host moves mail it kept failing on here'
    }
  }
]

resource consumerBlobReaders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for i in range(0, length(containerNames)): if (grantConsumer) {
    name: guid(containers[i].id, consumerPrincipalId, roleIds.blobDataReader)
    scope: containers[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.blobDataReader)
      principalId: consumerPrincipalId
      principalType: consumerPrincipalType
      description: 'mail-drain consumer: read raw messages, attachments and payloads'
    }
  }
]

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

@description('URL of the deployment-wide output queue (OUTPUT_QUEUE).')
output queueUrl string = '${account.properties.primaryEndpoints.queue}${queueName}'

@description('URL of its poison queue.')
output poisonQueueUrl string = '${account.properties.primaryEndpoints.queue}${queueName}-poison'

@description('URL of the deployment-wide claim-check container (OUTPUT_CONTAINER).')
output containerUrl string = '${account.properties.primaryEndpoints.blob}${containerName}'

@description('URL of the queue of drain requests (DRAIN_REQUESTS_QUEUE).')
output drainRequestsQueueUrl string = '${account.properties.primaryEndpoints.queue}${drainRequests.name}'
