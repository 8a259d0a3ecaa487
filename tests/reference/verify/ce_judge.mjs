// ce_judge.mjs — the CortexJS Compute Engine as a judge of answer equality (agree.py runs it).
// stdin: one JSON array [answer, gold] per line, LaTeX after agree.py's notation conventions.
// stdout: one line per pair: true, false, or null when the engine cannot decide (a parse error,
// isEqual undefined even after expanding both sides, an inequality against a set); last,
// {"seconds": …} for the judging loop.
import { ComputeEngine } from '@cortex-js/compute-engine';
import { readFileSync } from 'node:fs';

const ce = new ComputeEngine();

function hasError(json) {
  return JSON.stringify(json).includes('"Error"');
}

const RELATIONS = new Set(['Less', 'Greater', 'LessEqual', 'GreaterEqual']);

// isEqual, then on the expanded forms; unions compared as sets of their parts. An inequality (or a
// chain: And of inequalities) against anything but an inequality is undecided: the engine reads
// `x > 3` as a proposition, not as its solution set, and says false only because the kinds differ.
function isRelation(e) {
  return RELATIONS.has(e.operator) || (e.operator === 'And' && e.ops.every((x) => RELATIONS.has(x.operator)));
}

function equal(a, b) {
  if (isRelation(a) !== isRelation(b)) return undefined;
  if (a.operator === 'Union' && b.operator === 'Union') {
    if (a.ops.length !== b.ops.length) return false;
    const used = new Set();
    for (const x of a.ops) {
      const k = b.ops.findIndex((y, i) => !used.has(i) && equal(x, y) === true);
      if (k < 0) return false;
      used.add(k);
    }
    return true;
  }
  let eq = a.isEqual(b);
  if (eq === undefined) {
    try {
      eq = ce.box(['Expand', a]).evaluate().isEqual(ce.box(['Expand', b]).evaluate());
    } catch (e) {
      eq = undefined;
    }
  }
  return eq;
}

const lines = readFileSync(0, 'utf8').split('\n').filter((l) => l.length > 0);
const out = [];
const t0 = process.hrtime.bigint();
for (const line of lines) {
  const [answer, gold] = JSON.parse(line);
  let verdict = null;
  try {
    const a = ce.parse(answer), b = ce.parse(gold);
    if (!hasError(a.json) && !hasError(b.json)) {
      const eq = equal(a, b);
      verdict = eq === undefined ? null : eq;
    }
  } catch (e) {
    verdict = null;
  }
  out.push(JSON.stringify(verdict));
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(out.join('\n') + '\n' + JSON.stringify({ seconds }) + '\n');
