<#
.SYNOPSIS
    Lets the mail-drain app registration open its mailboxes over IMAP (Exchange Online side).

.DESCRIPTION
    Entra ID decides whether the app may ask for IMAP at all (the IMAP.AccessAsApp
    permission with admin consent); Exchange Online decides which mailboxes it may open.
    This script does the Exchange half, after `az deployment group create`:

      1. Connect-ExchangeOnline (an Exchange Administrator signs in);
      2. New-ServicePrincipal: Exchange's record of the app's Enterprise application,
         skipped when it exists;
      3. for each mailbox of -Mailbox: Get-CASMailbox that IMAP is on (with -EnableImap,
         turned on); Add-MailboxPermission FullAccess, skipped when granted; a check with
         Get-MailboxPermission. Each mailbox says what it found and did; one that fails
         does not stop the others, and the script ends with an error naming the failed ones.

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
    The shared mailboxes to drain, one or more addresses (every mailbox of the deployment
    parameter mailboxes, or its older single mailbox). One app registration opens them all;
    each needs its own FullAccess.

.PARAMETER DisplayName
    Name Exchange shows for the service principal.

.PARAMETER AdminUserPrincipalName
    Optional: the admin account to sign in with.

.PARAMETER EnableImap
    Turn IMAP on for a mailbox where it is off, instead of failing that mailbox.

.EXAMPLE
    $out = az deployment group show --resource-group rg-mail-drain --name mail-drain `
        --query properties.outputs | ConvertFrom-Json
    ./infra/exchange-setup.ps1 -AppId $out.appRegistrationClientId.value `
        -ServicePrincipalObjectId $out.enterpriseAppObjectId.value `
        -Mailbox invoices@contoso.com, orders@contoso.com
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)]
    [ValidatePattern('^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$')]
    [string] $AppId,

    [Parameter(Mandatory)]
    [ValidatePattern('^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$')]
    [string] $ServicePrincipalObjectId,

    # One or more addresses; ValidatePattern checks each.
    [Parameter(Mandatory)]
    [ValidatePattern('^[^\s@]+@[^\s@]+$')]
    [string[]] $Mailbox,

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
    # 1. Exchange's service principal, pointing at the Enterprise application: one for all the mailboxes.
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

    # Each mailbox once, whatever the case it is written in (-contains ignores case).
    $addresses = [System.Collections.Generic.List[string]]::new()
    foreach ($address in $Mailbox) { if ($addresses -notcontains $address) { $addresses.Add($address) } }

    $failed = [System.Collections.Generic.List[string]]::new()
    foreach ($address in $addresses) {
        Write-Host "${address}:"
        try {
            # 2. IMAP must be on for the mailbox, or the login succeeds and the session does not.
            $casMailbox = Get-CASMailbox -Identity $address
            if ($casMailbox.ImapEnabled) {
                Write-Host '  IMAP is on'
            }
            elseif (-not $EnableImap) {
                throw "IMAP is disabled for $address. Run again with -EnableImap, or: Set-CASMailbox -Identity $address -ImapEnabled `$true"
            }
            elseif ($PSCmdlet.ShouldProcess($address, 'Set-CASMailbox -ImapEnabled $true')) {
                Set-CASMailbox -Identity $address -ImapEnabled $true
                Write-Host '  IMAP enabled'
            }

            # 3. FullAccess is the mailbox permission IMAP.AccessAsApp needs.
            $granted = Get-MailboxPermission -Identity $address -User $ServicePrincipalObjectId -ErrorAction SilentlyContinue |
                Where-Object { $_.AccessRights -contains 'FullAccess' -and -not $_.Deny }
            if ($granted) {
                Write-Host '  FullAccess already granted'
            }
            elseif ($PSCmdlet.ShouldProcess($address, "Add-MailboxPermission FullAccess for $ServicePrincipalObjectId")) {
                Add-MailboxPermission -Identity $address -User $ServicePrincipalObjectId -AccessRights FullAccess | Out-Null
                Write-Host '  FullAccess granted'
            }

            # 4. Check what Exchange now reports.
            if (-not $WhatIfPreference) {
                $permission = Get-MailboxPermission -Identity $address -User $ServicePrincipalObjectId |
                    Where-Object { $_.AccessRights -contains 'FullAccess' -and -not $_.Deny }
                if (-not $permission) {
                    throw "Get-MailboxPermission does not show FullAccess for $ServicePrincipalObjectId on $address."
                }
                Write-Host "  checked: Get-MailboxPermission shows FullAccess for $ServicePrincipalObjectId"
            }
        }
        catch {
            # One mailbox's problem (not found, IMAP off, no permission) leaves the others to be set up.
            Write-Host "  FAILED: $($_.Exception.Message)" -ForegroundColor Red
            $failed.Add($address)
        }
    }

    if ($failed.Count -gt 0) {
        throw "Not set up: $($failed -join ', '). Fix what is said above for each, then run the script again with -Mailbox $($failed -join ', ')."
    }
    if (-not $WhatIfPreference) {
        Write-Host "Exchange setup done for $($addresses.Count) mailbox(es). The next drains can log in (allow a few minutes for Exchange to apply a new permission)."
    }
}
finally {
    Disconnect-ExchangeOnline -Confirm:$false
}
