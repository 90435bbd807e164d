/**
 * The fake tenant's directory: its app registrations, looked up by client id
 * case-insensitively as Entra does, and the object ids of service principals.
 */
import { createHash, X509Certificate } from 'node:crypto';

export interface FakeApp {
  clientId: string;
  secret?: string;
  secretExpired?: boolean;
  /** Public certificate (PEM) whose private key signs client assertions. */
  certificatePem?: string;
  /** App roles granted, put in every token the app gets. Default ['IMAP.AccessAsApp']. */
  roles?: string[];
  /** Managed identity principal ids trusted as federated credentials (issuer: this fake). */
  federatedSubjects?: string[];
  /** False: the tenant has not consented to the app (a multi-tenant app never installed here): AADSTS65001. Default true. */
  consented?: boolean;
}

/** An app registration with its certificate parsed once, for checking the assertions it signs. */
export interface RegisteredApp {
  app: FakeApp;
  certificate?: X509Certificate;
}

/** The app registrations of one tenant, and its service principals' object ids. */
export class Directory {
  private readonly apps = new Map<string, RegisteredApp>();

  constructor(private readonly tenantId: string) {}

  /** Adds an app registration, or replaces the one with the same clientId (credential rotation). */
  add(app: FakeApp): void {
    const certificate = app.certificatePem ? new X509Certificate(app.certificatePem) : undefined;
    this.apps.set(app.clientId.toLowerCase(), { app, certificate });
  }

  find(clientId: string): RegisteredApp | undefined {
    return this.apps.get(clientId.toLowerCase());
  }

  /** Object id of an app's (or managed identity's) service principal: a stable GUID derived from its client id. */
  servicePrincipalId(clientId: string): string {
    const h = createHash('sha256').update(`service-principal:${this.tenantId}:${clientId}`.toLowerCase()).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}
