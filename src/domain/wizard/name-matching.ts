/**
 * Matching a source's words (a column header, a facility name, a cell's option text) to Ferry's
 * objects: exactly, then normalised (case, accents, punctuation and spacing ignored), then fuzzily
 * with Jaro-Winkler similarity. Every suggestion carries a confidence from 0 to 1 so the wizard can
 * accept sure matches and ask about the rest. Pure: the caller passes the candidates.
 */

export type MatchMethod = 'remembered' | 'exact' | 'normalised' | 'fuzzy';

export interface MatchCandidate {
  id: string;
  /** What the wizard shows (the object's name). */
  label: string;
  /** Every text the object answers to: name, code, short name, form name, aliases, UID. */
  names: readonly string[];
}

export interface MatchSuggestion {
  id: string;
  label: string;
  method: MatchMethod;
  confidence: number;
  /** The candidate's text that matched. */
  matchedOn: string;
}

/** Below this a fuzzy match is not offered at all. */
export const MIN_FUZZY_CONFIDENCE = 0.8;
/** At or above this a suggestion is taken without asking (exact, normalised, remembered). */
export const SURE_CONFIDENCE = 0.95;

/** Lower case, accents dropped, `&` as "and", every run of other characters one space. */
export function normaliseName(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/</g, ' lt ')
    .replace(/>/g, ' gt ')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/** Jaro-Winkler similarity of two strings, 0 (nothing shared) to 1 (equal). */
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return 1;
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return 0;
  const window = Math.max(0, Math.floor(Math.max(la, lb) / 2) - 1);
  const aMatched = new Uint8Array(la);
  const bMatched = new Uint8Array(lb);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const from = Math.max(0, i - window);
    const to = Math.min(lb - 1, i + window);
    for (let j = from; j <= to; j++) {
      if (bMatched[j] || a[i] !== b[j]) continue;
      aMatched[i] = 1;
      bMatched[j] = 1;
      matches++;
      break;
    }
  }
  if (matches === 0) return 0;
  let transpositions = 0;
  let k = 0;
  for (let i = 0; i < la; i++) {
    if (!aMatched[i]) continue;
    while (!bMatched[k]) k++;
    if (a[i] !== b[k]) transpositions++;
    k++;
  }
  const m = matches;
  const jaro = (m / la + m / lb + (m - transpositions / 2) / m) / 3;
  let prefix = 0;
  while (prefix < 4 && prefix < la && prefix < lb && a[prefix] === b[prefix]) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

/**
 * Similarity of two normalised names that also forgives word order ("cases malaria" and "malaria
 * cases"): the better of Jaro-Winkler on the texts and on their sorted words.
 */
export function nameSimilarity(a: string, b: string): number {
  const direct = jaroWinkler(a, b);
  if (direct === 1) return 1;
  const sorted = (s: string) => s.split(' ').sort().join(' ');
  return Math.max(direct, jaroWinkler(sorted(a), sorted(b)));
}

/**
 * An index of candidates for repeated look-ups (every distinct value of a column against every org
 * unit): exact and normalised matches are map look-ups; fuzzy matching walks the candidates.
 */
export class NameMatcher {
  private readonly exact = new Map<string, MatchCandidate[]>();
  private readonly normalised = new Map<string, MatchCandidate[]>();
  private readonly entries: Array<{ candidate: MatchCandidate; text: string; normal: string }> = [];

  constructor(candidates: Iterable<MatchCandidate>) {
    for (const candidate of candidates) {
      for (const text of new Set(candidate.names)) {
        if (!text) continue;
        const normal = normaliseName(text);
        add(this.exact, text, candidate);
        if (normal) add(this.normalised, normal, candidate);
        this.entries.push({ candidate, text, normal });
      }
    }
  }

  /** Best suggestions first, at most `limit`, one per candidate. */
  suggest(text: string, limit = 3, fuzzy = true): MatchSuggestion[] {
    const out = new Map<string, MatchSuggestion>();
    const put = (s: MatchSuggestion) => {
      const had = out.get(s.id);
      if (!had || had.confidence < s.confidence) out.set(s.id, s);
    };
    const trimmed = text.trim();
    for (const c of this.exact.get(trimmed) ?? [])
      put({ id: c.id, label: c.label, method: 'exact', confidence: 1, matchedOn: trimmed });
    const normal = normaliseName(trimmed);
    if (out.size === 0 && normal)
      for (const c of this.normalised.get(normal) ?? [])
        put({
          id: c.id,
          label: c.label,
          method: 'normalised',
          confidence: SURE_CONFIDENCE,
          matchedOn: c.label,
        });
    if (out.size === 0 && fuzzy && normal) {
      for (const entry of this.entries) {
        if (!entry.normal) continue;
        // Scaled below a normalised match: a fuzzy match is never "sure".
        const confidence = Math.round(nameSimilarity(normal, entry.normal) * 0.94 * 1000) / 1000;
        if (confidence >= MIN_FUZZY_CONFIDENCE)
          put({
            id: entry.candidate.id,
            label: entry.candidate.label,
            method: 'fuzzy',
            confidence,
            matchedOn: entry.text,
          });
      }
    }
    return [...out.values()]
      .sort((a, b) => b.confidence - a.confidence || a.label.localeCompare(b.label))
      .slice(0, limit);
  }

  /** The one sure match (exact or normalised, not ambiguous), or undefined. */
  sureMatch(text: string): MatchSuggestion | undefined {
    const found = this.suggest(text, 2, false);
    return found.length === 1 ? found[0] : undefined;
  }
}

function add(map: Map<string, MatchCandidate[]>, key: string, candidate: MatchCandidate): void {
  const list = map.get(key);
  if (!list) map.set(key, [candidate]);
  else if (!list.includes(candidate)) list.push(candidate);
}
