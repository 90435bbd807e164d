/**
 * The OpenTelemetry meter provider for a metrics destination (METRICS_EXPORTER):
 * Application Insights through Azure Monitor's OpenTelemetry exporter,
 * Entra-authenticated with the identity of APPLICATIONINSIGHTS_AUTHENTICATION_STRING
 * (the component disables local authentication); a JSON-lines file; or the
 * console. Not the full Azure Monitor distro: its HTTP auto-instrumentation
 * would record Storage URLs, SAS included, and cost import time.
 *
 * runMetrics.ts imports this module only when metrics are on.
 */
import { AzureMonitorMetricExporter } from '@azure/monitor-opentelemetry-exporter';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { MetricsTarget, Settings } from '../config/settings.js';
import { platformCredential } from '../identity/platformCredential.js';
import { FileMetricExporter } from './fileMetricExporter.js';

export function meterProvider(target: MetricsTarget, settings: Settings, exportTimeoutMillis: number): MeterProvider {
  return new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'mail-drain' }),
    // Every run flushes its own points; the interval only catches what a flush missed.
    readers: [new PeriodicExportingMetricReader({ exporter: exporterFor(target, settings), exportIntervalMillis: 60_000, exportTimeoutMillis })],
  });
}

function exporterFor(target: MetricsTarget, settings: Settings): PushMetricExporter {
  switch (target.exporter) {
    case 'file':
      return new FileMetricExporter(target.file);
    case 'azure-monitor': {
      // The managed identity in the function app; DefaultAzureCredential, for that client ID, on the command line.
      const credential = target.clientId ? platformCredential(settings, target.clientId) : undefined;
      return new AzureMonitorMetricExporter({ connectionString: target.connectionString, ...(credential ? { credential } : {}) });
    }
    default:
      // Delta, like the other two: a run's own values, not running totals.
      return new ConsoleMetricExporter({ temporalitySelector: () => AggregationTemporality.DELTA });
  }
}
