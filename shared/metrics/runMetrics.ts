/**
 * Emits a finished run's metrics (runMeasurements.ts) where the settings say
 * (METRICS_EXPORTER, meterProvider.ts), and flushes them before it returns,
 * since Flex Consumption may freeze the instance once the invocation ends.
 *
 * The OpenTelemetry SDK and the exporters are imported on first use, only when
 * metrics are on, so that importing the function module stays light. One meter
 * provider per destination lives as long as the process. A metric that cannot
 * be sent is logged, never thrown over the drain's outcome.
 */
import type { Counter, Gauge, Histogram } from '@opentelemetry/api';
import type { MetricsTarget, Settings } from '../config/settings.js';
import { describe } from '../errors/errors.js';
import type { Logger } from '../errors/logger.js';
import { METER_NAME, METRICS, type MetricKey } from './metricNames.js';
import { runMeasurements, type FinishedRun } from './runMeasurements.js';
import type { MetricsPipeline } from './meterProvider.js';

/** How long a flush may hold the end of an invocation. */
const FLUSH_TIMEOUT_MS = 10_000;

interface Emitter extends MetricsPipeline {
  instruments: Record<MetricKey, Counter | Gauge | Histogram>;
}

const emitters = new Map<string, Promise<Emitter>>();

/** Records the run's data points and flushes them; with METRICS_EXPORTER none, does nothing at all. */
export async function emitRunMetrics(settings: Settings, run: FinishedRun, logger: Logger): Promise<void> {
  const target = settings.metrics;
  if (target.exporter === 'none') return;
  try {
    const key = JSON.stringify(target);
    let emitter = emitters.get(key);
    if (!emitter) {
      emitter = createEmitter(target, settings);
      emitters.set(key, emitter);
      emitter.catch(() => emitters.delete(key));
    }
    const { provider, instruments, takeFailure } = await emitter;
    for (const m of runMeasurements(run)) {
      const instrument = instruments[m.metric];
      if ('add' in instrument) instrument.add(m.value, m.attributes);
      else instrument.record(m.value, m.attributes);
    }
    await provider.forceFlush({ timeoutMillis: FLUSH_TIMEOUT_MS });
    const failure = takeFailure();
    if (failure) throw failure;
  } catch (error) {
    logger.warn(`The metrics of ${settings.mailbox}/${settings.folder} could not be sent to ${target.exporter} (${describe(error)}); the drain itself is unaffected.`);
  }
}

async function createEmitter(target: MetricsTarget, settings: Settings): Promise<Emitter> {
  const { meterProvider } = await import('./meterProvider.js');
  const { provider, takeFailure } = meterProvider(target, settings, FLUSH_TIMEOUT_MS);
  const meter = provider.getMeter(METER_NAME);
  const instruments = Object.fromEntries(
    Object.entries(METRICS).map(([key, m]) => {
      const options = { unit: m.unit, description: m.description };
      const instrument = m.kind === 'counter' ? meter.createCounter(m.name, options) : m.kind === 'gauge' ? meter.createGauge(m.name, options) : meter.createHistogram(m.name, options);
      return [key, instrument];
    }),
  ) as Emitter['instruments'];
  return { provider, takeFailure, instruments };
}
