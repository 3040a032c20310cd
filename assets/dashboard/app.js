// The dashboard page: hash routes over the JSON API (src/dashboard/server.ts); read-only unless the
// server was started with --allow-write, when /api/storage hands the page a token for its writes.
//   #/                      studies
//   #/study/NAME/VIEW       a study (VIEW: history, pareto, ..., trials)
//   #/study/NAME/trial/N    one trial's full record
//   #/compression/N         a compression report (dashboard --report DIR)
(() => {
  const { escapeHtml: esc, render } = window.ParsimonyCharts;
  const main = document.getElementById('main');
  const live = document.getElementById('live');
  const VIEWS = [
    'history',
    'pareto',
    'parallel-coordinate',
    'slice',
    'contour',
    'intermediate',
    'importance',
    'timeline',
    'trials',
  ];
  let events = null; // the EventSource of the open study
  let current = null; // { name, view, trial, version }
  const table = { offset: 0, limit: 50, sort: 'number', order: 'asc', state: '', filter: '' };
  const plotQuery = {}; // per-study pareto axes etc.
  let importanceMethod = 'mdi'; // or 'fanova', 'ped-anova'
  let writeToken = null; // set when the server allows writes
  const storageInfo = api('/api/storage').then((s) => {
    writeToken = s.writeToken || null;
    document.getElementById('storage').textContent =
      `${s.description} · ${writeToken ? 'writes allowed' : 'read-only'}`;
    return s;
  });
  storageInfo.catch(() => {});

  async function api(path) {
    const res = await fetch(path, { headers: { Accept: 'application/json' } });
    const body = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
    if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
    return body;
  }

  async function write(method, path, body) {
    const res = await fetch(path, {
      method,
      headers: {
        Accept: 'application/json',
        'Content-Type': 'application/json',
        'X-Parsimony-Token': writeToken,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const out = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
    if (!res.ok) throw new Error(out.error || `HTTP ${res.status}`);
    return out;
  }

  /** The note and tags of the study (trial null) or a trial: a form when writes are allowed. */
  function annotationsHtml(annotations) {
    const tags = annotations.tags.map((t) => `<span class="tag">${esc(t)}</span>`).join(' ');
    if (!writeToken)
      return annotations.note || annotations.tags.length
        ? `<div id="annotations"><p id="note-text">${esc(annotations.note)}</p><p id="tag-list">${tags}</p></div>`
        : '';
    return `<div id="annotations" class="annotations"><h3>Note and tags</h3>
      <textarea id="note" rows="3" cols="70" maxlength="10000" placeholder="a note">${esc(annotations.note)}</textarea>
      <p><input id="tags" size="50" placeholder="tags, space-separated" value="${esc(annotations.tags.join(' '))}">
      <button id="save-annotations">Save</button> <span id="annotations-status" class="muted"></span></p></div>`;
  }

  function bindAnnotations(name, trial) {
    const button = document.getElementById('save-annotations');
    if (!button) return;
    button.onclick = async () => {
      const status = document.getElementById('annotations-status');
      status.textContent = 'saving…';
      try {
        const tags = document
          .getElementById('tags')
          .value.split(/[\s,]+/)
          .filter(Boolean);
        const saved = await write('POST', `${studyPath(name)}/annotations`, {
          trial,
          note: document.getElementById('note').value,
          tags,
        });
        document.getElementById('tags').value = saved.tags.join(' ');
        status.textContent = 'saved';
        status.dataset.saved = '1';
      } catch (error) {
        status.textContent = error.message;
        status.className = 'error';
      }
    };
  }

  const studyPath = (name) => `/api/studies/${encodeURIComponent(name)}`;
  const fmt = (v) =>
    v === null || v === undefined
      ? ''
      : typeof v === 'number'
        ? Number.isInteger(v)
          ? String(v)
          : v.toPrecision(6)
        : String(v);
  // Long attribute values (a stored model spec) are cut in tables; the full record shows them whole.
  const short = (text) => (text.length > 100 ? `${text.slice(0, 100)}…` : text);
  const time = (ms) =>
    ms
      ? new Date(ms)
          .toISOString()
          .replace('T', ' ')
          .replace(/\.\d+Z$/, 'Z')
      : '';

  function showError(error) {
    main.innerHTML = `<p class="error" id="error">${esc(error.message || String(error))}</p><p><a href="#/">All studies</a></p>`;
  }

  function closeEvents() {
    if (events) events.close();
    events = null;
    live.textContent = '';
  }

  function openTrial(number) {
    location.hash = `#/study/${encodeURIComponent(current.name)}/trial/${number}`;
  }

  /** Draws a list of ECharts options into `container`; marks each chart ready once drawn. */
  function drawCharts(container, result, kind) {
    container.innerHTML = '';
    if (result.note) container.insertAdjacentHTML('beforeend', `<p class="note">${esc(result.note)}</p>`);
    for (const option of result.charts) {
      const div = document.createElement('div');
      div.className = 'chart';
      div.dataset.kind = kind;
      container.appendChild(div);
      render(div, option, openTrial, () => {
        div.dataset.ready = '1';
      });
    }
  }

  // ---- studies ---------------------------------------------------------------------------
  async function showStudies() {
    closeEvents();
    await storageInfo.catch(() => {});
    const [data, compression] = await Promise.all([api('/api/studies'), api('/api/compression')]);
    const reportList = compression.reports.length
      ? `<h2>Compression reports</h2><ul id="reports">${compression.reports
          .map((r) =>
            r.error
              ? `<li class="error">${esc(r.error)}</li>`
              : `<li><a href="#/compression/${r.index}">${esc(r.model)}${r.dataset ? ` on ${esc(r.dataset)}` : ''}</a> (${r.steps} step${r.steps === 1 ? '' : 's'}${r.completed ? '' : ', interrupted'})</li>`,
          )
          .join('')}</ul>`
      : '';
    if (data.studies.length === 0) {
      main.innerHTML = `${compression.reports.length ? '' : '<p class="muted">No studies in this storage yet.</p>'}${reportList}`;
      document.body.dataset.page = 'studies';
      return;
    }
    const rows = data.studies
      .map((s) => {
        const counts = Object.entries(s.counts)
          .filter(([, n]) => n > 0)
          .map(([state, n]) => `<span class="state-${state}">${n} ${state.toLowerCase()}</span>`)
          .join(', ');
        const best =
          s.directions.length === 1
            ? s.best
              ? `${fmt(s.best.value)} (trial ${s.best.number})`
              : '–'
            : `front of ${s.paretoFrontSize}`;
        return `<tr class="clickable" data-study="${esc(s.name)}"><td class="l"><a href="#/study/${encodeURIComponent(s.name)}/history">${esc(s.name)}</a></td><td class="l">${esc(s.directions.join(', '))}</td><td>${s.nTrials}</td><td class="l">${counts}</td><td>${esc(best)}</td><td>${esc(time(s.lastUpdate))}</td>${writeToken ? `<td><button class="delete-study" data-study="${esc(s.name)}">delete</button></td>` : ''}</tr>`;
      })
      .join('');
    main.innerHTML = `<h2>Studies</h2><table id="studies"><tr><th class="l">name</th><th class="l">directions</th><th>trials</th><th class="l">by state</th><th>best</th><th>last update</th>${writeToken ? '<th></th>' : ''}</tr>${rows}</table>${reportList}`;
    for (const tr of main.querySelectorAll('tr[data-study]'))
      tr.addEventListener('click', () => {
        location.hash = `#/study/${encodeURIComponent(tr.dataset.study)}/history`;
      });
    for (const button of main.querySelectorAll('button.delete-study'))
      button.addEventListener('click', async (event) => {
        event.stopPropagation();
        const name = button.dataset.study;
        if (!confirm(`Delete study "${name}" and all its trials? This cannot be undone.`)) return;
        try {
          await write('DELETE', studyPath(name));
          await showStudies();
        } catch (error) {
          showError(error);
        }
      });
    document.body.dataset.page = 'studies';
  }

  // ---- one study -------------------------------------------------------------------------
  function summaryHtml(study) {
    const s = study.summary;
    const counts = Object.entries(s.counts)
      .filter(([, n]) => n > 0)
      .map(([state, n]) => `<span class="state-${state}">${n} ${state.toLowerCase()}</span>`)
      .join(', ');
    const best =
      study.directions.length === 1
        ? s.best
          ? `best ${fmt(s.best.value)} (<a href="#/study/${encodeURIComponent(study.name)}/trial/${s.best.number}">trial ${s.best.number}</a>)`
          : 'no feasible completed trial yet'
        : `${s.paretoFront.length} trials on the Pareto front`;
    return `${study.nTrials} trials (${counts || 'none'}); ${best}; directions ${esc(study.directions.join(', '))}; last update ${esc(time(s.lastUpdate))}`;
  }

  function plotUrl(name, view) {
    const q = new URLSearchParams();
    if (view === 'pareto') for (const [k, v] of Object.entries(plotQuery[name] || {})) if (v) q.set(k, v);
    if (view === 'importance' && importanceMethod !== 'mdi') q.set('method', importanceMethod);
    return `${studyPath(name)}/plots/${view}?${q}`;
  }

  async function showStudy(name, view) {
    // The figure is asked for at the same time as the study, not after it: one round trip less to first paint.
    const plot = view === 'trials' ? null : api(plotUrl(name, view));
    plot?.catch(() => {}); // a failure shows through the study request or drawView
    const study = await api(studyPath(name));
    await storageInfo.catch(() => {});
    const fresh = !current || current.name !== name;
    current = { name, view, trial: null, version: study.version, study };
    if (fresh) subscribe(name);
    const tabs = VIEWS.map(
      (v) =>
        `<a href="#/study/${encodeURIComponent(name)}/${v}" class="${v === view ? 'active' : ''}" data-view="${v}">${v}</a>`,
    ).join('');
    main.innerHTML = `<p><a href="#/">All studies</a></p><h2 id="study-name">${esc(name)}</h2><p id="summary">${summaryHtml(study)}</p>${annotationsHtml(study.annotations)}<nav class="tabs">${tabs}</nav><div id="controls" class="controls"></div><div id="view"></div>`;
    document.body.dataset.page = 'study';
    bindAnnotations(name, null);
    await drawView(plot);
  }

  function axisControls(study) {
    const objectives = study.directions.map((_, i) => `objective:${i}`);
    const choices = [...objectives, ...study.numericAttrs];
    const q = plotQuery[study.name] || {};
    const select = (id, value) =>
      `<select id="${id}"><option value="">default</option>${choices.map((c) => `<option ${c === value ? 'selected' : ''}>${esc(c)}</option>`).join('')}</select>`;
    return `x ${select('pareto-x', q.x)} y ${select('pareto-y', q.y)}`;
  }

  async function drawView(prefetched) {
    const { name, view, study } = current;
    const container = document.getElementById('view');
    const controls = document.getElementById('controls');
    if (!container) return;
    if (view === 'trials') {
      controls.innerHTML = `state <select id="state-filter"><option value="">any</option>${[
        'COMPLETE',
        'PRUNED',
        'FAIL',
        'RUNNING',
        'WAITING',
      ]
        .map((s) => `<option ${s === table.state ? 'selected' : ''}>${s}</option>`)
        .join(
          '',
        )}</select> filter <input id="filter" size="28" placeholder="e.g. lr<0.01 optimizer=adam" value="${esc(table.filter)}"> <button id="apply">apply</button>`;
      document.getElementById('apply').onclick = () => {
        table.state = document.getElementById('state-filter').value;
        table.filter = document.getElementById('filter').value;
        table.offset = 0;
        drawTable().catch(showInline);
      };
      await drawTable();
      return;
    }
    controls.innerHTML =
      view === 'pareto'
        ? axisControls(study)
        : view === 'importance'
          ? `method <select id="importance-method">${[
              ['mdi', 'mean decrease in impurity'],
              ['fanova', 'fANOVA'],
              ['ped-anova', 'PED-ANOVA (top 10% against all)'],
            ]
              .map(
                ([v, label]) =>
                  `<option value="${v}" ${v === importanceMethod ? 'selected' : ''}>${label}</option>`,
              )
              .join('')}</select>`
          : '';
    if (view === 'importance')
      document.getElementById('importance-method').onchange = (e) => {
        importanceMethod = e.target.value;
        drawView().catch(showInline);
      };
    if (view === 'pareto')
      for (const id of ['pareto-x', 'pareto-y'])
        document.getElementById(id).onchange = () => {
          plotQuery[name] = {
            x: document.getElementById('pareto-x').value,
            y: document.getElementById('pareto-y').value,
          };
          drawView().catch(showInline);
        };
    const result = await (prefetched ?? api(plotUrl(name, view)));
    if (current.view !== view || current.name !== name) return;
    drawCharts(container, result, view);
  }

  function showInline(error) {
    const container = document.getElementById('view') || main;
    container.insertAdjacentHTML('afterbegin', `<p class="error">${esc(error.message)}</p>`);
  }

  async function drawTable() {
    const { name, study } = current;
    const q = new URLSearchParams({
      offset: table.offset,
      limit: table.limit,
      sort: table.sort,
      order: table.order,
      state: table.state,
      filter: table.filter,
    });
    const page = await api(`${studyPath(name)}/trials?${q}`);
    const valueCols = study.directions.map((_, i) => `value${i}`);
    const cols = ['number', 'state', ...valueCols, ...study.params, 'duration'];
    const head = cols
      .map(
        (c) =>
          `<th class="sortable ${c === 'state' || study.params.includes(c) ? 'l' : ''}" data-col="${esc(c)}">${esc(c)}${table.sort === c ? (table.order === 'asc' ? ' ▲' : ' ▼') : ''}</th>`,
      )
      .join('');
    const rows = page.rows
      .map((r) => {
        const cells = [
          `<td>${r.number}</td>`,
          `<td class="l state-${r.state}">${r.state}</td>`,
          ...valueCols.map((_, i) => `<td>${esc(fmt(r.values ? r.values[i] : null))}</td>`),
          ...study.params.map((p) => `<td class="l">${esc(fmt(r.params[p]))}</td>`),
          `<td>${r.durationMs === null ? '' : (r.durationMs / 1000).toFixed(2)}s</td>`,
        ];
        return `<tr class="clickable" data-number="${r.number}">${cells.join('')}</tr>`;
      })
      .join('');
    const last = Math.min(page.total, page.offset + page.rows.length);
    document.getElementById('view').innerHTML =
      `<p class="muted" id="table-range">${page.total ? page.offset + 1 : 0}–${last} of ${page.total}</p>
      <p><button id="prev" ${page.offset === 0 ? 'disabled' : ''}>previous</button> <button id="next" ${last >= page.total ? 'disabled' : ''}>next</button></p>
      <table id="trials"><tr>${head}</tr>${rows}</table>`;
    for (const th of document.querySelectorAll('#trials th[data-col]'))
      th.onclick = () => {
        const col = th.dataset.col;
        table.order = table.sort === col && table.order === 'asc' ? 'desc' : 'asc';
        table.sort = col;
        table.offset = 0;
        drawTable().catch(showInline);
      };
    for (const tr of document.querySelectorAll('#trials tr[data-number]'))
      tr.onclick = () => openTrial(Number(tr.dataset.number));
    document.getElementById('prev').onclick = () => {
      table.offset = Math.max(0, table.offset - table.limit);
      drawTable().catch(showInline);
    };
    document.getElementById('next').onclick = () => {
      table.offset += table.limit;
      drawTable().catch(showInline);
    };
  }

  // ---- one trial -------------------------------------------------------------------------
  async function showTrial(name, number) {
    await storageInfo.catch(() => {});
    const data = await api(`${studyPath(name)}/trials/${number}`);
    if (!current || current.name !== name) {
      current = { name, view: 'trial', trial: number, version: null, study: await api(studyPath(name)) };
      subscribe(name);
    } else Object.assign(current, { view: 'trial', trial: number });
    const t = data.trial;
    const link = (n) => `<a href="#/study/${encodeURIComponent(name)}/trial/${n}">trial ${n}</a>`;
    const kv = (obj) =>
      Object.keys(obj).length
        ? `<table>${Object.entries(obj)
            .map(
              ([k, v]) =>
                `<tr><th class="l">${esc(k)}</th><td class="l">${esc(short(typeof v === 'object' ? JSON.stringify(v) : fmt(v)))}</td></tr>`,
            )
            .join('')}</table>`
        : '<p class="muted">none</p>';
    const heartbeat = t.systemAttrs.heartbeat ?? t.systemAttrs.lastHeartbeat;
    main.innerHTML = `<p><a href="#/study/${encodeURIComponent(name)}/history">Back to ${esc(name)}</a></p>
      <h2 id="trial-title">Trial ${t.number} <span class="state-${esc(t.state)}">${esc(t.state)}</span>${writeToken ? ' <button id="delete-trial">delete trial</button>' : ''}</h2>
      <p>values: <b id="trial-values">${esc(t.values ? t.values.map(fmt).join(', ') : 'none')}</b>;
        started ${esc(t.datetimeStart || '–')}, completed ${esc(t.datetimeComplete || '–')}${t.durationMs !== null ? ` (${(t.durationMs / 1000).toFixed(2)} s)` : ''}
        ${heartbeat !== undefined ? `; last heartbeat ${esc(fmt(heartbeat))}` : ''}
        ${data.retriedFrom !== null ? `; retry of ${link(data.retriedFrom)}` : ''}${data.retriedBy.length ? `; retried as ${data.retriedBy.map(link).join(', ')}` : ''}</p>
      ${annotationsHtml(data.annotations)}
      <div class="grid2"><div><h3>Parameters</h3>${kv(t.params)}</div><div><h3>User attributes</h3>${kv(t.userAttrs)}<h3>System attributes</h3>${kv(t.systemAttrs)}</div></div>
      <h3>Intermediate values</h3><div id="trial-curve"></div>
      <div id="trial-layers"></div>
      <h3>Full record</h3><pre id="trial-record"></pre>`;
    document.getElementById('trial-record').textContent = JSON.stringify(t, null, 2);
    const steps = Object.entries(t.intermediateValues).map(([s, v]) => [
      Number(s),
      Array.isArray(v) ? v[0] : v,
    ]);
    const curve = document.getElementById('trial-curve');
    if (steps.length) {
      const div = document.createElement('div');
      div.className = 'chart';
      curve.appendChild(div);
      render(div, {
        animation: false,
        tooltip: { trigger: 'axis' },
        xAxis: { type: 'value', name: 'step', scale: true },
        yAxis: { type: 'value', scale: true },
        series: [{ type: 'line', data: steps.sort((a, b) => a[0] - b[0]) }],
      });
    } else curve.innerHTML = '<p class="muted">none reported</p>';
    if (data.layers) {
      const box = document.getElementById('trial-layers');
      box.innerHTML = '<h3>Per-layer complexity</h3><div></div>';
      drawCharts(box.lastElementChild, data.layers, 'layers');
    }
    bindAnnotations(name, t.number);
    const remove = document.getElementById('delete-trial');
    if (remove)
      remove.addEventListener('click', async () => {
        if (!confirm(`Delete trial ${t.number} of "${name}"? This cannot be undone.`)) return;
        try {
          await write('DELETE', `${studyPath(name)}/trials/${t.number}`);
          location.hash = `#/study/${encodeURIComponent(name)}/trials`;
        } catch (error) {
          showError(error);
        }
      });
    document.body.dataset.page = 'trial';
  }

  // ---- a compression report --------------------------------------------------------------
  async function showCompression(index) {
    closeEvents();
    const d = await api(`/api/compression/${index}`);
    const acc = (v) => (v === null ? '–' : `${(v * 100).toFixed(2)}%`);
    const rows = d.steps
      .map(
        (s) =>
          `<tr><td class="l">${esc(s.label)}</td><td class="l">${esc(s.method)}</td><td>${s.params}</td><td>${s.nonZeroParams}</td><td>${s.storedBytes}</td><td>${acc(s.valAccuracy)}</td><td>${acc(s.testAccuracy)}</td><td>${s.seconds.toFixed(1)}</td></tr>`,
      )
      .join('');
    main.innerHTML = `<p><a href="#/">All studies</a></p><h2 id="report-title">Compression of ${esc(d.model)}${d.dataset ? ` on ${esc(d.dataset)}` : ''}</h2>
      ${d.completed ? '' : '<p class="note">The recipe was interrupted: the rows say what was done.</p>'}
      <table id="compression-steps"><tr><th class="l">step</th><th class="l">method</th><th>params</th><th>non-zero</th><th>stored bytes</th><th>val accuracy</th><th>test accuracy</th><th>seconds</th></tr>${rows}</table>
      <div id="view"></div>`;
    drawCharts(document.getElementById('view'), d, 'compression');
    document.body.dataset.page = 'compression';
  }

  // ---- live updates ----------------------------------------------------------------------
  function subscribe(name) {
    closeEvents();
    events = new EventSource(`${studyPath(name)}/events`);
    events.addEventListener('version', (e) => {
      const data = JSON.parse(e.data);
      live.textContent = `live · ${data.nTrials} trials · ${new Date().toLocaleTimeString()}`;
      live.dataset.version = data.version;
      if (!current || current.name !== name || current.version === data.version) return;
      current.version = data.version;
      refresh().catch(() => {});
    });
    events.addEventListener('error', () => {
      live.textContent = 'live updates paused';
    });
  }

  async function refresh() {
    if (!current) return;
    if (current.view === 'trial') return; // a finished trial does not change; leave the reader where they are
    const study = await api(studyPath(current.name));
    current.study = study;
    const summary = document.getElementById('summary');
    if (summary) summary.innerHTML = summaryHtml(study);
    await drawView();
  }

  // ---- routing ---------------------------------------------------------------------------
  async function route() {
    const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    try {
      if (parts[0] === 'compression' && parts[1] !== undefined) {
        current = null;
        await showCompression(Number(parts[1]));
      } else if (parts[0] === 'study' && parts[1]) {
        if (parts[2] === 'trial' && parts[3] !== undefined) await showTrial(parts[1], Number(parts[3]));
        else await showStudy(parts[1], VIEWS.includes(parts[2]) ? parts[2] : 'history');
      } else {
        current = null;
        await showStudies();
      }
    } catch (error) {
      closeEvents();
      current = null;
      showError(error);
    }
  }

  addEventListener('hashchange', route);
  addEventListener('resize', () => {
    for (const div of document.querySelectorAll('.chart')) echarts.getInstanceByDom(div)?.resize();
  });
  route();
})();
