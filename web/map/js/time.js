// The date control: every stored snapshot (GET /snapshots), step back and forward, play.

const PLAY_MS = 1500;

/**
 * Fills the control with `snapshots` (oldest first) and calls `onDate(snapshot)` when the
 * reader picks another one. Returns `{ set(date) }`.
 */
export function control(snapshots, current, onDate) {
  const select = document.getElementById('date');
  const prev = document.getElementById('date-prev');
  const next = document.getElementById('date-next');
  const play = document.getElementById('date-play');
  select.innerHTML = snapshots
    .map((s) => `<option value="${s.date}">${s.date}</option>`)
    .join('');
  let index = Math.max(0, snapshots.findIndex((s) => s.date === current));
  let timer = null;

  const show = () => {
    select.value = snapshots[index].date;
    prev.disabled = index === 0;
    next.disabled = index === snapshots.length - 1;
  };
  const go = (i) => {
    if (i < 0 || i >= snapshots.length || i === index) return;
    index = i;
    show();
    onDate(snapshots[index]);
  };
  const stop = () => {
    clearInterval(timer);
    timer = null;
    play.textContent = 'Play';
    play.setAttribute('aria-pressed', 'false');
  };
  select.addEventListener('change', () => go(snapshots.findIndex((s) => s.date === select.value)));
  prev.addEventListener('click', () => { stop(); go(index - 1); });
  next.addEventListener('click', () => { stop(); go(index + 1); });
  play.addEventListener('click', () => {
    if (timer) return stop();
    if (index === snapshots.length - 1) go(0);
    play.textContent = 'Pause';
    play.setAttribute('aria-pressed', 'true');
    timer = setInterval(() => (index < snapshots.length - 1 ? go(index + 1) : stop()), PLAY_MS);
  });
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    const typing = (t instanceof HTMLInputElement && !['checkbox', 'radio'].includes(t.type)) || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement;
    if (typing) return;
    if (e.key === '[') { stop(); go(index - 1); }
    if (e.key === ']') { stop(); go(index + 1); }
  });
  show();
  return {
    set(date) {
      go(snapshots.findIndex((s) => s.date === date));
    },
  };
}
