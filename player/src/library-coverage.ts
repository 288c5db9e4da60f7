// Knowledge-point coverage as GET /api/v1/coverage answers it, and the numbers
// the coverage tab shows. Pure, for tests.

/** One knowledge point of a subject and grade. */
export interface PointCoverage {
  point: string;
  /** An approved or published micro-lecture covers it. */
  covered: boolean;
  /** How many such micro-lectures. */
  microLectures: number;
  /** The covering micro-lectures (their pages apply visibility). */
  clipIds: string[];
  /** How many lessons are tagged with it. */
  lessons: number;
  /** In the curriculum list (false: only found on lessons or clips). */
  inCurriculum: boolean;
}

export interface Coverage {
  subject: string;
  grade: string;
  points: PointCoverage[];
  covered: number;
  total: number;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0);

/** Reads the coverage response, skipping points without a name; counts are recomputed from the points. */
export function parseCoverage(body: unknown): Coverage {
  const b = (body ?? {}) as Record<string, unknown>;
  const points: PointCoverage[] = [];
  if (Array.isArray(b.points)) {
    for (const raw of b.points as unknown[]) {
      if (!raw || typeof raw !== 'object') continue;
      const o = raw as Record<string, unknown>;
      const point = str(o.point).trim();
      if (!point) continue;
      const clipIds = Array.isArray(o.clip_ids) ? o.clip_ids.filter((id): id is string => typeof id === 'string' && id !== '') : [];
      points.push({
        point,
        covered: o.covered === true,
        microLectures: Math.max(num(o.micro_lectures), clipIds.length),
        clipIds,
        lessons: num(o.lessons),
        inCurriculum: o.in_curriculum !== false,
      });
    }
  }
  return {
    subject: str(b.subject),
    grade: str(b.grade),
    points,
    covered: points.filter((p) => p.covered).length,
    total: points.length,
  };
}

/** The share covered as a whole percent (floored, so 99.5 % does not read as complete); 0 for none. */
export function coveragePercent(covered: number, total: number): number {
  if (!(total > 0) || !(covered > 0)) return 0;
  return Math.floor((Math.min(covered, total) * 100) / total);
}

/** The points split for display: uncovered (what is left to make) and covered, each in the server's (curriculum) order. */
export function splitCoverage(points: PointCoverage[]): { uncovered: PointCoverage[]; covered: PointCoverage[] } {
  return { uncovered: points.filter((p) => !p.covered), covered: points.filter((p) => p.covered) };
}

/** A subject and grade with a curriculum (GET /api/v1/curricula). */
export interface Curriculum {
  subject: string;
  grade: string;
  /** How many knowledge points it lists. */
  points: number;
}

/** Reads GET /api/v1/curricula, skipping entries without a subject or grade. */
export function parseCurricula(body: unknown): Curriculum[] {
  const list = (body as { curricula?: unknown } | null)?.curricula;
  if (!Array.isArray(list)) return [];
  const out: Curriculum[] = [];
  for (const raw of list as unknown[]) {
    if (!raw || typeof raw !== 'object') continue;
    const o = raw as Record<string, unknown>;
    const subject = str(o.subject).trim();
    const grade = str(o.grade).trim();
    if (subject && grade) out.push({ subject, grade, points: num(o.points) });
  }
  return out;
}

/** values first, then the suggestions they lack: what a subject or grade box offers. */
export function mergeSuggestions(values: readonly string[], suggestions: readonly string[]): string[] {
  return [...new Set([...values, ...suggestions])];
}
