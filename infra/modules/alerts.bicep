metadata name = 'Alerts'
metadata description = 'Log alert rules over the per-mailbox metrics the drain emits to Application Insights (table AppMetrics in its workspace; names in shared/metrics/metricNames.ts): heartbeat, quarantine, credential expiry, backlog and failures that need a person; and an action group that mails (and optionally calls a webhook), deployed when an address or a webhook is given.'

@description('Required. Azure region of the rules and the action group.')
param location string

@description('Optional. Tags applied to every resource.')
param tags object = {}

@description('Required. Name prefix of the rules and the action group.')
param namePrefix string

@description('Required. Resource ID of the Log Analytics workspace behind Application Insights: the rules query its AppMetrics table.')
param workspaceResourceId string

@description('Required. The mailboxes the deployment drains, as main.bicep passes them to the function app (objects with mailbox and optional folder, enabled): the heartbeat expects a completed run of each enabled one.')
param mailboxes array

@description('Optional. Folder of a mailbox that names none (MAIL_FOLDER).')
param mailFolder string = 'INBOX'

@description('Optional. Region of the action group: global, as action groups usually are.')
param actionGroupLocation string = 'global'

@description('Optional. Email address the alerts go to; with neither this nor alertWebhookUrl no action group is deployed and the rules only show in the portal.')
param alertEmail string = ''

@description('Optional. Webhook (https URL) the alerts are posted to, in the common alert schema.')
@secure()
param alertWebhookUrl string?

@description('Optional. Minutes without a completed drain of a mailbox before the heartbeat alert fires (3 x the default DRAIN_SCHEDULE of 5 minutes).')
@minValue(5)
@maxValue(2880)
param heartbeatMinutes int = 15

@description('Optional. Minutes the oldest message may wait in a mailbox folder before the backlog alert fires.')
@minValue(5)
@maxValue(2880)
param backlogMinutes int = 60

@description('Optional. The credential alert fires when fewer days than this are left (CREDENTIAL_EXPIRY_WARNING_DAYS).')
@minValue(0)
param credentialExpiryWarningDays int = 30

// Codes a drain can end with whose remedy needs a person (shared/errors/remedies*, passes: false; not replay's and
// redrive's own, operateRemedies.ts); test/infra/alerts.test.ts keeps the two lists equal.
// The others (throttling, a token expiring mid-drain, Storage or Entra briefly down) pass by themselves.
var codesNeedingAPerson = [
  'CREDENTIAL_EXPIRED'
  'CREDENTIAL_INVALID'
  'CREDENTIAL_NOT_RSA'
  'ENTRA_APP_NOT_FOUND'
  'ENTRA_ASSERTION_INVALID'
  'ENTRA_CONSENT_MISSING'
  'ENTRA_RESOURCE_NOT_FOUND'
  'ENTRA_SECRET_EXPIRED'
  'ENTRA_SECRET_INVALID'
  'ENTRA_TENANT_NOT_FOUND'
  'ENTRA_TOKEN_FAILED'
  'ENTRA_TOKEN_MISMATCH'
  'IDENTITY_UNAVAILABLE'
  'IMAP_AUTH_FAILED'
  'IMAP_CAPABILITY_MISSING'
  'IMAP_FAILED'
  'IMAP_FOLDER_NOT_FOUND'
  'IMAP_MAILBOX_NOT_CONNECTED'
  'IMAP_TLS'
  'IMAP_UNREACHABLE'
  'KEYVAULT_FAILED'
  'KEYVAULT_FORBIDDEN'
  'KEYVAULT_NOT_FOUND'
  'KEYVAULT_SECRET_DISABLED'
  'KEYVAULT_UNREACHABLE'
  'SETTINGS_INVALID'
  'STORAGE_CONTAINER_NOT_FOUND'
  'STORAGE_FORBIDDEN'
  'STORAGE_QUEUE_NOT_FOUND'
]

// A log alert's window (windowSize) takes only these durations; a rule whose minutes fall between two
// looks over the next longer one and keeps to its minutes in its query (ago()).
var windowSizes = [
  { minutes: 5, duration: 'PT5M' }
  { minutes: 10, duration: 'PT10M' }
  { minutes: 15, duration: 'PT15M' }
  { minutes: 30, duration: 'PT30M' }
  { minutes: 45, duration: 'PT45M' }
  { minutes: 60, duration: 'PT1H' }
  { minutes: 120, duration: 'PT2H' }
  { minutes: 180, duration: 'PT3H' }
  { minutes: 240, duration: 'PT4H' }
  { minutes: 300, duration: 'PT5H' }
  { minutes: 360, duration: 'PT6H' }
  { minutes: 1440, duration: 'P1D' }
  { minutes: 2880, duration: 'P2D' }
]
var heartbeatWindow = first(filter(windowSizes, w => w.minutes >= heartbeatMinutes)).duration

// The enabled mailbox folders, keyed as the metrics key them: the address in lower case, INBOX in any case as INBOX.
var withDefaults = map(mailboxes, m => union({ folder: mailFolder, enabled: true }, m))
var deployed = map(filter(withDefaults, m => m.enabled), m => {
  mailbox: toLower(m.mailbox)
  folder: toUpper(m.folder) == 'INBOX' ? 'INBOX' : m.folder
})
var kqlString = map(deployed, d => '"${replace(replace(d.mailbox, '\\', '\\\\'), '"', '\\"')}", "${replace(replace(d.folder, '\\', '\\\\'), '"', '\\"')}"')
var deployedTable = 'datatable(mailbox: string, folder: string) [${join(kqlString, ', ')}]'
var codesList = 'dynamic([${join(map(codesNeedingAPerson, c => '"${c}"'), ', ')}])'

// The queries, with {placeholders} filled in below. They read AppMetrics only, and only the
// metric names and dimensions of shared/metrics/metricNames.ts (test/infra/alerts.test.ts).
var queries = {
  heartbeat: '''
let deployed = {deployed};
let completed = AppMetrics
| where TimeGenerated > ago({heartbeatMinutes}m)
| where Name == "mail_drain.runs" and tostring(Properties.outcome) == "completed"
| summarize lastCompleted = max(TimeGenerated) by mailbox = tostring(Properties.mailbox), folder = tostring(Properties.folder);
deployed
| join kind=leftouter completed on mailbox, folder
| where isnull(lastCompleted)
| summarize missing = count() by mailbox, folder
'''
  quarantine: '''
AppMetrics
| where Name == "mail_drain.quarantined" and Sum > 0
| summarize quarantined = sum(Sum) by mailbox = tostring(Properties.mailbox), folder = tostring(Properties.folder)
'''
  credential: '''
AppMetrics
| where Name == "mail_drain.credential_days_left"
| summarize daysLeft = min(Sum)
'''
  backlog: '''
AppMetrics
| where Name == "mail_drain.oldest_waiting_age"
| summarize arg_max(TimeGenerated, Sum) by mailbox = tostring(Properties.mailbox), folder = tostring(Properties.folder)
| project mailbox, folder, oldestMinutes = Sum
'''
  failures: '''
let needsAPerson = {codes};
AppMetrics
| where Name == "mail_drain.runs"
| extend outcome = tostring(Properties.outcome), code = tostring(Properties.error_code)
| where (outcome == "failed" and (isempty(code) or code in (needsAPerson))) or (outcome == "incomplete" and code in (needsAPerson))
| summarize failures = sum(Sum) by mailbox = tostring(Properties.mailbox), folder = tostring(Properties.folder), code
'''
}

var splitByMailbox = [
  { name: 'mailbox', operator: 'Include', values: [ '*' ] }
  { name: 'folder', operator: 'Include', values: [ '*' ] }
]

var rules = [
  {
    name: 'heartbeat'
    displayName: 'mail-drain: a mailbox has no completed drain'
    description: 'No drain of this mailbox folder completed in the last ${heartbeatMinutes} minutes, or the function never ran at all. Run `mail-drain status --mailbox <address>` for its last run and error; check in the portal that the function app runs (requestDrains on its timer, drainMailbox on the drain requests queue) and look for a backlog or failures alert of the same mailbox. README: Metrics and alerts.'
    severity: 1
    frequency: 'PT5M'
    window: heartbeatWindow
    query: replace(replace(queries.heartbeat, '{deployed}', deployedTable), '{heartbeatMinutes}', string(heartbeatMinutes))
    aggregation: 'Total'
    measure: 'missing'
    operator: 'GreaterThan'
    threshold: 0
    dimensions: splitByMailbox
    autoMitigate: true
  }
  {
    name: 'quarantine'
    displayName: 'mail-drain: a message was quarantined'
    description: 'A drain quarantined a message it can never hand off (unparseable, too large, or failing MAX_ATTEMPTS times): its raw bytes are in Blob storage and a notice with the reason is on the <OUTPUT_QUEUE>-poison queue; the mail itself is in FAILED_FOLDER. Read the notice, deal with the message, and delete the notice. README: Delivery guarantee.'
    severity: 2
    frequency: 'PT5M'
    // 15 minutes, not 5: a data point ingested a few minutes late still falls in a window; stateful
    // (autoMitigate), so the overlapping windows notify once and the alert resolves when they pass.
    window: 'PT15M'
    query: queries.quarantine
    aggregation: 'Total'
    measure: 'quarantined'
    operator: 'GreaterThan'
    threshold: 0
    dimensions: splitByMailbox
    autoMitigate: true
  }
  {
    name: 'credential'
    displayName: 'mail-drain: the app credential expires soon'
    description: 'The app registration\'s secret or certificate expires in fewer than ${credentialExpiryWarningDays} days; when it does every drain fails with CREDENTIAL_EXPIRED. Create a new one, put it in the Key Vault under the same name (the drain reads it within the hour) and remove the old one. README: Troubleshooting, CREDENTIAL_EXPIRED.'
    severity: 2
    frequency: 'PT1H'
    window: 'PT6H'
    query: queries.credential
    aggregation: 'Minimum'
    measure: 'daysLeft'
    operator: 'LessThan'
    threshold: credentialExpiryWarningDays
    dimensions: []
    autoMitigate: true
  }
  {
    name: 'backlog'
    displayName: 'mail-drain: mail waits too long in a mailbox'
    description: 'The oldest message left in this mailbox folder at the end of its last run is older than ${backlogMinutes} minutes. A large backlog drains run after run (follow-up requests); if it does not shrink, run `mail-drain status --mailbox <address>` for the reason (failed hand-offs, Storage down, throttling) and see the failures alert. README: Metrics and alerts.'
    severity: 2
    frequency: 'PT5M'
    window: heartbeatWindow
    query: queries.backlog
    aggregation: 'Maximum'
    measure: 'oldestMinutes'
    operator: 'GreaterThan'
    threshold: backlogMinutes
    dimensions: splitByMailbox
    autoMitigate: true
  }
  {
    name: 'failures'
    displayName: 'mail-drain: drains fail for a reason a person must fix'
    description: 'Drains of this mailbox folder fail (or stop) with an error code that does not pass by itself, or with a bug (no code). The code is a dimension of the alert: look it up in the README (Troubleshooting) for what to do, or run `mail-drain status --mailbox <address>` and `mail-drain doctor` for the error and its remedy.'
    severity: 1
    frequency: 'PT5M'
    window: 'PT15M'
    query: replace(queries.failures, '{codes}', codesList)
    aggregation: 'Total'
    measure: 'failures'
    operator: 'GreaterThan'
    threshold: 0
    dimensions: concat(splitByMailbox, [ { name: 'code', operator: 'Include', values: [ '*' ] } ])
    autoMitigate: true
  }
]

var notify = !empty(alertEmail) || !empty(alertWebhookUrl)

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (notify) {
  name: 'ag-${namePrefix}'
  location: actionGroupLocation
  tags: tags
  properties: {
    groupShortName: take(namePrefix, 12)
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'email'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
    webhookReceivers: empty(alertWebhookUrl) ? [] : [
      {
        name: 'webhook'
        serviceUri: alertWebhookUrl
        useCommonAlertSchema: true
      }
    ]
  }
}

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for rule in rules: {
  name: 'alert-${namePrefix}-${rule.name}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: rule.displayName
    description: rule.description
    severity: rule.severity
    enabled: true
    scopes: [
      workspaceResourceId
    ]
    evaluationFrequency: rule.frequency
    windowSize: rule.window
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: rule.aggregation
          metricMeasureColumn: rule.measure
          operator: rule.operator
          threshold: rule.threshold
          dimensions: rule.dimensions
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: rule.autoMitigate
    actions: {
      actionGroups: notify ? [
        actionGroup.id
      ] : []
    }
  }
}]

@description('Names of the alert rules.')
output ruleNames array = [for (rule, i) in rules: alertRules[i].name]
