<#
.SYNOPSIS
    Lets the mail-drain app registration open one mailbox over IMAP (Exchange Online side).

.DESCRIPTION
    Entra ID decides whether the app may ask for IMAP at all (the IMAP.AccessAsApp
    permission with admin consent); Exchange Online decides which mailboxes it may open.
    This script does the Exchange half, after `az deployment group create`:

      1. Connect-ExchangeOnline (an Exchange Administrator signs in);
      2. New-ServicePrincipal: Exchange's record of the app's Enterprise application,
         skipped when it exists;
      3. Add-MailboxPermission FullAccess on the mailbox, skipped when granted;
      4. a check with Get-MailboxPermission, plus Get-CASMailbox that IMAP is on.

    Without step 2, the IMAP login fails with "AUTHENTICATE failed"; without step 3 it
    fails with "User is authenticated but not connected". Exchange can take some minutes
    (rarely up to an hour) to apply a new permission.

    Runs in PowerShell 7 with the ExchangeOnlineManagement module 3.x, which Azure Cloud
    Shell (PowerShell) already has. Running it twice changes nothing the second time.

.PARAMETER AppId
    Application (client) ID of the app registration: the deployment output
    appRegistrationClientId.

.PARAMETER ServicePrincipalObjectId
    Object ID of the app's Enterprise application (service principal), not of the app
    registration: the deployment output enterpriseAppObjectId, or when the registration
    was made by hand: az ad sp show --id <AppId> --query id -o tsv

.PARAMETER Mailbox
    The shared mailbox to drain (the deployment parameter mailbox).

.PARAMETER DisplayName
    Name Exchange shows for the service principal.

.PARAMETER AdminUserPrincipalName
    Optional: the admin account to sign in with.

.PARAMETER EnableImap
    Turn IMAP on for the mailbox when it is off, instead of stopping with an error.

.EXAMPLE
    $out = az deployment group show --resource-group rg-mail-drain --name mail-drain `
        --query properties.outputs | ConvertFrom-Json
    ./infra/exchange-setup.ps1 -AppId $out.appRegistrationClientId.value `
        -ServicePrincipalObjectId $out.enterpriseAppObjectId.value `
        -Mailbox invoices@contoso.com
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)]
    [ValidatePattern('^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$')]
    [string] $AppId,

    [Parameter(Mandatory)]
    [ValidatePattern('^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$')]
    [string] $ServicePrincipalObjectId,

    [Parameter(Mandatory)]
    [ValidatePattern('^[^\s@]+@[^\s@]+$')]
    [string] $Mailbox,

    [string] $DisplayName = 'mail-drain',

    [string] $AdminUserPrincipalName,

    [switch] $EnableImap
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

if (-not (Get-Module -ListAvailable -Name ExchangeOnlineManagement)) {
    throw 'The ExchangeOnlineManagement module is missing: Install-Module ExchangeOnlineManagement -Scope CurrentUser'
}
Import-Module ExchangeOnlineManagement

$connect = @{ ShowBanner = $false }
if ($AdminUserPrincipalName) { $connect.UserPrincipalName = $AdminUserPrincipalName }
Connect-ExchangeOnline @connect

try {
    # 1. Exchange's service principal, pointing at the Enterprise application.
    $servicePrincipal = Get-ServicePrincipal -Identity $ServicePrincipalObjectId -ErrorAction SilentlyContinue
    if ($servicePrincipal) {
        if ($servicePrincipal.AppId -ne $AppId) {
            throw "Exchange already has service principal $ServicePrincipalObjectId for app $($servicePrincipal.AppId), not $AppId. Check -ServicePrincipalObjectId: it is the Enterprise application's object ID."
        }
        Write-Host "Service principal exists: $($servicePrincipal.DisplayName) ($ServicePrincipalObjectId)"
    }
    elseif ($PSCmdlet.ShouldProcess($AppId, 'New-ServicePrincipal')) {
        $servicePrincipal = New-ServicePrincipal -AppId $AppId -ObjectId $ServicePrincipalObjectId -DisplayName $DisplayName
        Write-Host "Service principal created: $DisplayName ($ServicePrincipalObjectId)"
    }

    # 2. IMAP must be on for the mailbox, or the login succeeds and the session does not.
    $casMailbox = Get-CASMailbox -Identity $Mailbox
    if (-not $casMailbox.ImapEnabled) {
        if (-not $EnableImap) {
            throw "IMAP is disabled for $Mailbox. Run again with -EnableImap, or: Set-CASMailbox -Identity $Mailbox -ImapEnabled `$true"
        }
        if ($PSCmdlet.ShouldProcess($Mailbox, 'Set-CASMailbox -ImapEnabled $true')) {
            Set-CASMailbox -Identity $Mailbox -ImapEnabled $true
            Write-Host "IMAP enabled for $Mailbox"
        }
    }

    # 3. FullAccess is the mailbox permission IMAP.AccessAsApp needs.
    $granted = Get-MailboxPermission -Identity $Mailbox -User $ServicePrincipalObjectId -ErrorAction SilentlyContinue |
        Where-Object { $_.AccessRights -contains 'FullAccess' -and -not $_.Deny }
    if ($granted) {
        Write-Host "FullAccess on $Mailbox already granted"
    }
    elseif ($PSCmdlet.ShouldProcess($Mailbox, "Add-MailboxPermission FullAccess for $ServicePrincipalObjectId")) {
        Add-MailboxPermission -Identity $Mailbox -User $ServicePrincipalObjectId -AccessRights FullAccess | Out-Null
        Write-Host "FullAccess on $Mailbox granted"
    }

    # 4. Check what Exchange now reports.
    if (-not $WhatIfPreference) {
        $permission = Get-MailboxPermission -Identity $Mailbox -User $ServicePrincipalObjectId |
            Where-Object { $_.AccessRights -contains 'FullAccess' -and -not $_.Deny }
        if (-not $permission) {
            throw "Get-MailboxPermission does not show FullAccess for $ServicePrincipalObjectId on $Mailbox."
        }
        $permission | Format-Table Identity, User, AccessRights, IsInherited -AutoSize
        Write-Host 'Exchange setup done. The next drain can log in (allow a few minutes for Exchange to apply the permission).'
    }
}
finally {
    Disconnect-ExchangeOnline -Confirm:$false
}
