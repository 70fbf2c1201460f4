/**
 * Plots for learning curves and sweeps: Vega-Lite specifications rendered headless to
 * SVG by Vega, and SVG rasterised to PNG by resvg. One small face: give series of
 * points (optionally with error bars), get SVG and PNG files.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { writeFileAtomic } from '../util/files.js';

export interface PlotPoint {
  x: number;
  y: number;
  /** half-width of the error bar (e.g. one standard deviation); omitted: no bar */
  yError?: number;
  /** series name (one line per series) */
  series?: string;
}

export interface LinePlot {
  title: string;
  xLabel: string;
  yLabel: string;
  points: PlotPoint[];
  xScale?: 'linear' | 'log';
  yDomain?: [number, number];
  width?: number;
  height?: number;
}

function toVegaLite(plot: LinePlot): vegaLite.TopLevelSpec {
  const data = plot.points.map((p) => ({
    x: p.x,
    y: p.y,
    series: p.series ?? '',
    lo: p.yError === undefined ? p.y : p.y - p.yError,
    hi: p.yError === undefined ? p.y : p.y + p.yError,
  }));
  const hasSeries = plot.points.some((p) => p.series !== undefined);
  const hasErrors = plot.points.some((p) => p.yError !== undefined);
  const x = { field: 'x', type: 'quantitative' as const, title: plot.xLabel, scale: { type: plot.xScale ?? 'linear', zero: false } };
  const color = hasSeries ? { color: { field: 'series', type: 'nominal' as const, title: null } } : {};
  const yScale = plot.yDomain ? { domain: plot.yDomain } : { zero: false };
  const layer: unknown[] = [
    { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'y', type: 'quantitative', title: plot.yLabel, scale: yScale }, ...color } },
  ];
  if (hasErrors) {
    layer.push({
      mark: { type: 'errorbar', ticks: true },
      encoding: { x, y: { field: 'lo', type: 'quantitative', title: plot.yLabel }, y2: { field: 'hi' }, ...color },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: plot.title,
    width: plot.width ?? 480,
    height: plot.height ?? 300,
    background: 'white',
    data: { values: data },
    layer,
  } as vegaLite.TopLevelSpec;
}

export async function renderSvg(plot: LinePlot): Promise<string> {
  const compiled = vegaLite.compile(toVegaLite(plot)).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

export function svgToPng(svg: string): Uint8Array {
  const resvg = new Resvg(svg, { background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, fitTo: { mode: 'zoom', value: 2 } });
  return resvg.render().asPng();
}

/** Writes PATH.svg and PATH.png; returns both paths. */
export async function writePlot(pathWithoutExtension: string, plot: LinePlot): Promise<{ svg: string; png: string }> {
  const svg = await renderSvg(plot);
  const paths = { svg: `${pathWithoutExtension}.svg`, png: `${pathWithoutExtension}.png` };
  writeFileAtomic(paths.svg, svg);
  writeFileAtomic(paths.png, svgToPng(svg));
  return paths;
}
