// Draws the ECharts options Parsimony computes (src/visualization/echarts.ts). Options are plain JSON;
// the few functions ECharts needs are named by strings there and supplied here. Used by the
// dashboard and inlined into `parsimony plot --out x.html` and `parsimony report` files.
(() => {
  const escapeHtml = (s) =>
    String(s).replace(
      /[&<>"']/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
    );

  const fmt = (v) =>
    typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(5)) : String(v);

  // One bar of the timeline: lane (category), start and end (seconds).
  function timelineItem(params, api) {
    const lane = api.value(0);
    const start = api.coord([api.value(1), lane]);
    const end = api.coord([api.value(2), lane]);
    const height = api.size([0, 1])[1] * 0.6;
    const shape = echarts.graphic.clipRectByRect(
      { x: start[0], y: start[1] - height / 2, width: Math.max(1, end[0] - start[0]), height },
      {
        x: params.coordSys.x,
        y: params.coordSys.y,
        width: params.coordSys.width,
        height: params.coordSys.height,
      },
    );
    return shape && { type: 'rect', transition: ['shape'], shape, style: api.style() };
  }

  function trialTooltip(p) {
    const data = p.data || {};
    const value = Array.isArray(data.value) ? data.value.map(fmt).join(', ') : '';
    return `${escapeHtml(data.name || p.name || '')}${value ? `<br>${escapeHtml(value)}` : ''}`;
  }

  function prepare(option) {
    const o = { ...option };
    if (o.tooltip && o.tooltip.formatter === 'trial') o.tooltip = { ...o.tooltip, formatter: trialTooltip };
    if (Array.isArray(o.series))
      o.series = o.series.map((s) => (s.renderItem === 'timeline' ? { ...s, renderItem: timelineItem } : s));
    return o;
  }

  /**
   * Draws `option` in `element`; `onTrial(number)` is called when a point standing for a trial is
   * clicked, `onReady()` once the chart has drawn (registered first: drawing can finish inside setOption).
   */
  function render(element, option, onTrial, onReady) {
    const chart = echarts.getInstanceByDom(element) || echarts.init(element, null, { renderer: 'canvas' });
    chart.off('finished');
    if (onReady) chart.on('finished', onReady);
    chart.setOption(prepare(option), { notMerge: true, lazyUpdate: false });
    chart.off('click');
    if (onTrial)
      chart.on('click', (p) => {
        if (p.data && typeof p.data.number === 'number') onTrial(p.data.number);
      });
    return chart;
  }

  window.ParsimonyCharts = { render, prepare, escapeHtml };
})();
