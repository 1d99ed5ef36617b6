/** One line of the report: what was measured, the figure, the target and whether it is met. */
export interface BenchRow {
  measure: string;
  result: string;
  target?: string;
  met?: boolean;
}

const HEADINGS: [string, string, string, string] = ['Measure', 'Result', 'Target', ''];

/** A plain-text table with aligned columns, for a terminal or a Markdown code block. */
export function formatBenchTable(rows: BenchRow[]): string {
  const cells = rows.map((row): [string, string, string, string] => [
    row.measure,
    row.result,
    row.target ?? '',
    row.met === undefined ? '' : row.met ? 'met' : 'MISSED',
  ]);
  const widths = HEADINGS.map((heading, column) =>
    Math.max(heading.length, ...cells.map((line) => line[column]?.length ?? 0)),
  );
  const render = (line: string[]): string =>
    line
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();

  return [
    render(HEADINGS),
    render(widths.map((width) => '-'.repeat(width))),
    ...cells.map(render),
  ].join('\n');
}
