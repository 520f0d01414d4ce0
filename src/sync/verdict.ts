// The verdict on a group value of ours from the views of its members: the views of that group, over the
// last agreed roster, with long-silent members marked gone (docs/sync.md). The current group's, or the
// state a commit that removed us left (removal-check.ts).
import { ancestry, type MlsGroup } from "../mls/index.ts";
import { toHex } from "../util/bytes.ts";
import { agreedRoster, classify, type Verdict } from "./classify.ts";
import type { SyncContext } from "./context.ts";
import { timing } from "./roster.ts";
import type { GroupView } from "./state.ts";

/** The views of members in group `g`'s id. */
function viewsIn(ctx: SyncContext, g: MlsGroup): Map<string, GroupView> {
  const gid = toHex(g.groupId);
  return new Map([...ctx.state.views].filter(([, v]) => v.groupId === gid));
}

/**
 * The last agreed roster of group `g` (hex ids): the roster of our newest state more than half of the
 * roster before it is heard at or past (classify.ts). A member only one side of a split added is not on it.
 */
export function agreedRosterOf(
  ctx: SyncContext,
  g: MlsGroup,
  now: number,
  views: ReadonlyMap<string, GroupView> = viewsIn(ctx, g),
): string[] {
  const self = toHex(ctx.port.memberId);
  const rosterAt = (fp: string) => ctx.state.rosters.get(fp);
  return agreedRoster(self, g.history, rosterAt, views, now, timing(ctx).windowMs);
}

/** The verdict on group `g` from the views of its members, over the last agreed roster. */
export function judge(ctx: SyncContext, g: MlsGroup, now: number): Verdict {
  const views = viewsIn(ctx, g);
  const windowMs = timing(ctx).windowMs;
  const self = toHex(ctx.port.memberId);
  // A member out by its own committed leave (its own signed word) and not heard since is waited for by
  // no branch: it asked to be out of all of them (chaos churn 72: the two sides of an even split each
  // committed one leave and one removal, and waited for good for the two departed members).
  const left = ctx.port.leftByOwnLeave;
  const heardLately = (m: string) => {
    const v = views.get(m);
    return v !== undefined && now - v.receivedAt <= windowMs;
  };
  const roster = agreedRosterOf(ctx, g, now, views).filter(
    (m) => m === self || left === undefined || !left.has(m) || heardLately(m),
  );
  // Long silent: last heard (in any group) that many windows ago, or never since our last epoch change.
  const goneMs = windowMs * ctx.params.goneAfterWindows;
  const heardAt = (m: string) => ctx.state.views.get(m)?.receivedAt ?? ctx.state.lastEpochChangeAt;
  const gone = new Set(roster.filter((m) => m !== self && now - heardAt(m) > goneMs));
  return classify({
    self,
    history: g.history,
    ancestry: ancestry(g.history),
    roster,
    views,
    gone,
    ...(ctx.port.equivocators ? { excluded: ctx.port.equivocators } : {}),
    ...(ctx.port.equivocationForks ? { forks: ctx.port.equivocationForks } : {}),
    now,
    windowMs,
  });
}
