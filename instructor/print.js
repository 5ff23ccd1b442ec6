// The print edition (instructor/pdf.py): turn the built pages, placed one after another in one document,
// into a book. Runs in Chromium before MathJax typesets; returns the outline (titles and destinations)
// for the contents and the bookmarks. Done here, in the browser, because it is fast: the same work in
// Python (BeautifulSoup over ~40,000 elements of highlighted code) took longer than printing.
async function bhmPrepare() {
  const anchor = (doc, frag) => (doc.split('/').pop() + '--' + (frag || 'top')).replace(/[^A-Za-z0-9_-]/g, '_');
  const pages = Array.from(document.querySelectorAll('.print-page'));
  const printed = new Set(pages.map(p => p.dataset.docname));
  const outline = [];
  const text = el => el.textContent.replace(/\s+/g, ' ').trim();

  for (const page of pages) {
    const doc = page.dataset.docname;
    page.querySelectorAll('a.headerlink, .bhm-live, .toctree-wrapper, summary, button').forEach(el => el.remove());
    page.querySelectorAll('details').forEach(d => d.replaceWith(...d.childNodes));   // hidden code, shown
    page.querySelectorAll('.bhm-fallback').forEach(f => f.classList.remove('bhm-has-live'));
    page.querySelectorAll('[id]').forEach(el => { el.id = anchor(doc, el.id); });
    page.querySelectorAll('a[href]:not(.print-keep)').forEach(a => {
      const href = a.getAttribute('href');
      if (/^[a-z][a-z0-9+.-]*:/i.test(href)) return;                 // a web address stays a link
      const url = new URL(href, 'file:///' + doc + '.html');
      const target = url.pathname.replace(/^\//, '').replace(/\.html$/, '');
      if (printed.has(target)) a.setAttribute('href', '#' + anchor(target, url.hash.slice(1)));
      else a.replaceWith(...a.childNodes);                              // the index, the search page
    });
    page.id = anchor(doc, 'page');

    const h1 = page.querySelector('h1');
    if (page.dataset.title) h1.textContent = page.dataset.title;
    h1.id = anchor(doc);           // what the part pages link to: the chapter's title
    const top = page.querySelector('section');
    const sections = [];
    if (page.dataset.role === 'chapter' && top) {
      for (const section of top.querySelectorAll(':scope > section')) {
        const h2 = section.querySelector(':scope > h2');
        // The destination is the heading, not its section: a section can start at the foot of a page
        // whose heading the printer moved to the next one.
        if (h2) {
          h2.id = section.id + '-heading';
          sections.push({title: text(h2), html: h2.innerHTML.trim(), dest: h2.id, children: []});
        }
      }
      // Solutions: out of the exercises, into a section at the chapter's end.
      const solutions = Array.from(page.querySelectorAll('div.solution'));
      if (solutions.length) {
        const box = document.createElement('section');
        box.className = 'print-solutions';
        const heading = document.createElement('h2');
        heading.id = anchor(doc, 'print-solutions');
        heading.textContent = 'Solutions to the exercises of ' +
          (page.dataset.number ? 'chapter ' + page.dataset.number : text(h1));
        box.append(heading);
        for (const solution of solutions) {
          const title = solution.querySelector('.admonition-title');
          const label = title ? text(title).replace(/^Solution to\s*/, '') : 'the exercise';
          const ref = document.createElement('p');
          ref.className = 'print-solution-ref';
          const link = document.createElement('a');
          link.href = '#' + solution.id;
          link.textContent = 'Solution to ' + label;
          ref.append('→ ', link, ' at the end of the chapter.');
          solution.replaceWith(ref);
          box.append(solution);
        }
        top.append(box);
        sections.push({title: heading.textContent, html: heading.innerHTML, dest: heading.id, children: []});
      }
      // The chapter's own contents, under its title: also what makes Chromium record where each
      // section landed (a named destination for every link target).
      const nav = document.createElement('nav');
      nav.className = 'print-chapter-contents';
      const list = document.createElement('ul');
      for (const s of sections) {
        const li = document.createElement('li');
        const a = document.createElement('a');
        a.href = '#' + s.dest;
        a.innerHTML = s.html;   // with its formulas, typeset below
        li.append(a);
        list.append(li);
      }
      nav.append(list);
      h1.after(nav);
    }
    outline.push({title: text(h1), html: h1.innerHTML.trim(), dest: h1.id, number: page.dataset.number ? Number(page.dataset.number) : null,
                  part: page.dataset.part === undefined ? null : Number(page.dataset.part), children: sections});
  }

  if (window.MathJax && MathJax.startup) {
    await MathJax.startup.promise;
    await MathJax.typesetPromise();
  }
  await Promise.all(Array.from(document.images).map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done); })));
  await document.fonts.ready;
  return {
    outline,
    math: document.querySelectorAll('.math').length,
    typeset: document.querySelectorAll('mjx-container').length,
    untypeset: Array.from(document.querySelectorAll('.math')).filter(el => !el.querySelector('mjx-container'))
      .map(el => el.textContent.slice(0, 60)).slice(0, 5),
    mathErrors: Array.from(document.querySelectorAll('mjx-merror')).map(e => e.textContent).slice(0, 5),
    images: document.images.length,
    broken: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 100)),
  };
}
