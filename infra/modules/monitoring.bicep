metadata name = 'Monitoring'
metadata description = 'Log Analytics workspace and workspace-based Application Insights with local (instrumentation key) authentication disabled; the function identity publishes telemetry with Entra ID.'

@description('Required. Name of the Log Analytics workspace.')
param workspaceName string

@description('Required. Name of the Application Insights component.')
param insightsName string

@description('Required. Azure region of both resources.')
param location string

@description('Optional. Tags applied to both resources.')
param tags object = {}

@description('Optional. Days the workspace keeps logs.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

@description('Required. Principal (object) ID of the function identity, which gets Monitoring Metrics Publisher on the component.')
param publisherPrincipalId string

var roleIds = {
  // Monitoring Metrics Publisher
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      // Nothing here sends with workspace keys; Application Insights ingests through its own pipeline.
      disableLocalAuth: true
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: insightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    // Telemetry is accepted only with an Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
    DisableLocalAuth: true
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, publisherPrincipalId, roleIds.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.monitoringMetricsPublisher)
    principalId: publisherPrincipalId
    principalType: 'ServicePrincipal'
    description: 'mail-drain: send telemetry to Application Insights with Entra ID authentication'
  }
}

@description('Name of the Application Insights component; the function app reads its connection string.')
output insightsName string = insights.name

@description('Resource ID of the Log Analytics workspace, the destination of every diagnostic setting.')
output workspaceResourceId string = workspace.id
