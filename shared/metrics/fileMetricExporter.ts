/**
 * An OpenTelemetry metric exporter that appends each data point to a file as
 * one JSON line, `{"name","unit","attributes","value"}` (a histogram's value is
 * its sum, with `count`): what a local run or a test reads back. Delta
 * temporality, like Azure Monitor's exporter: a line per run, not running totals.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';

/** One line of the file. */
export interface MetricLine {
  name: string;
  unit: string;
  attributes: Record<string, string | number | boolean>;
  value: number;
  count?: number;
  time: string;
}

// ExportResultCode of @opentelemetry/core, which the SDK's types name but we do not depend on.
const SUCCESS = 0;
const FAILED = 1;

export class FileMetricExporter implements PushMetricExporter {
  constructor(private readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
  }

  export(metrics: ResourceMetrics, done: (result: { code: number; error?: Error }) => void): void {
    try {
      const lines: string[] = [];
      for (const scope of metrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          for (const point of metric.dataPoints) {
            const v = point.value as number | { sum?: number; count: number };
            const line: MetricLine = {
              name: metric.descriptor.name,
              unit: metric.descriptor.unit,
              attributes: point.attributes as MetricLine['attributes'],
              value: typeof v === 'number' ? v : (v.sum ?? 0),
              ...(typeof v === 'number' ? {} : { count: v.count }),
              time: new Date(point.endTime[0] * 1000 + point.endTime[1] / 1e6).toISOString(),
            };
            lines.push(JSON.stringify(line));
          }
        }
      }
      if (lines.length) appendFileSync(this.file, lines.join('\n') + '\n');
      done({ code: SUCCESS });
    } catch (error) {
      done({ code: FAILED, error: error as Error });
    }
  }

  selectAggregationTemporality(): AggregationTemporality {
    return AggregationTemporality.DELTA;
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
