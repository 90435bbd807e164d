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
import {
  AggregationTemporality,
  ConsoleMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type InstrumentType,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { MetricsTarget, Settings } from '../config/settings.js';
import { platformCredential } from '../identity/platformCredential.js';
import { FileMetricExporter } from './fileMetricExporter.js';

/** ExportResult of @opentelemetry/core (code 0: success), which the SDK's types name but we do not depend on. */
type ExportResult = Parameters<Parameters<PushMetricExporter['export']>[1]>[0];

/** A meter provider and what became of its exports: the SDK hands export failures to its diagnostics only. */
export interface MetricsPipeline {
  provider: MeterProvider;
  /** Why an export failed since the last call, if one did. */
  takeFailure(): Error | undefined;
}

export function meterProvider(target: MetricsTarget, settings: Settings, exportTimeoutMillis: number): MetricsPipeline {
  const exporter = new Reporting(exporterFor(target, settings));
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'mail-drain' }),
    // Every run flushes its own points; the interval only catches what a flush missed.
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000, exportTimeoutMillis })],
  });
  return { provider, takeFailure: () => exporter.takeFailure() };
}

/** An exporter that remembers its last failed export. */
class Reporting implements PushMetricExporter {
  private failure: Error | undefined;

  constructor(private readonly inner: PushMetricExporter) {}

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    this.inner.export(metrics, (result) => {
      if (result.code !== 0) this.failure = result.error ?? new Error('the exporter reported a failure');
      done(result);
    });
  }

  selectAggregationTemporality(type: InstrumentType): AggregationTemporality {
    return this.inner.selectAggregationTemporality?.(type) ?? AggregationTemporality.DELTA;
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  takeFailure(): Error | undefined {
    const { failure } = this;
    this.failure = undefined;
    return failure;
  }
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
