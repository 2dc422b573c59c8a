import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import { percentile, when } from './format.js';
import type { DailyCounts, Run } from './types.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Legend,
  Tooltip,
);

/** Result colours, distinguishable and with enough contrast on white. */
const COLOURS: Record<string, string> = {
  succeeded: '#1a7f37',
  failed: '#b42318',
  partial: '#b54708',
  missed: '#6941c6',
  skipped: '#475467',
};

const RESULTS = ['succeeded', 'failed', 'partial', 'missed', 'skipped'] as const;

function perDayData(days: DailyCounts[]) {
  return {
    labels: days.map((d) => d.day),
    datasets: RESULTS.map((result) => ({
      label: result,
      data: days.map((d) => d[result]),
      backgroundColor: COLOURS[result],
    })),
  };
}

/** Text and grid colours following the page's (light or dark) scheme. */
function themeChart(): void {
  const style = getComputedStyle(document.documentElement);
  Chart.defaults.color = style.getPropertyValue('--muted').trim() || '#475467';
  Chart.defaults.borderColor = style.getPropertyValue('--line').trim() || '#d0d5dd';
}

/** Stacked bars: runs per day by result. Returns the chart to destroy on re-render. */
export function runsPerDayChart(canvas: HTMLCanvasElement, days: DailyCounts[]): Chart {
  themeChart();
  return new Chart(canvas, {
    type: 'bar',
    data: perDayData(days),
    options: {
      animation: false,
      responsive: true,
      scales: {
        x: { stacked: true },
        y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
      },
    },
  });
}

/** Sets new counts in place (no redraw from empty). */
export function updateRunsPerDay(chart: Chart, days: DailyCounts[]): void {
  chart.data = perDayData(days);
  chart.update('none');
}

/** Sets new durations in place (no redraw from empty). */
export function updateDurations(chart: Chart, runs: Run[]): void {
  chart.data = durationData(runs);
  chart.update('none');
}

function durationData(runs: Run[]) {
  const byDay = new Map<string, number[]>();
  for (const run of runs) {
    if (run.durationMs === undefined) continue;
    const day = when(run.createdAt).slice(0, 10);
    byDay.set(day, [...(byDay.get(day) ?? []), run.durationMs / 1000]);
  }
  const days = [...byDay.keys()].sort();
  const line = (p: number, colour: string) => ({
    label: `p${p} (s)`,
    data: days.map((d) => percentile(byDay.get(d) ?? [], p) ?? null),
    borderColor: colour,
    backgroundColor: colour,
  });
  return {
    labels: days,
    datasets: [line(50, '#175cd3'), line(90, '#b54708'), line(99, '#b42318')],
  };
}

/** Lines: p50, p90 and p99 of finished runs' durations (seconds) per day in the browser's zone. */
export function durationChart(canvas: HTMLCanvasElement, runs: Run[]): Chart {
  themeChart();
  return new Chart(canvas, {
    type: 'line',
    data: durationData(runs),
    options: { animation: false, responsive: true, scales: { y: { beginAtZero: true } } },
  });
}
