// The content topics of one conversation.

/** Topics of a conversation (Waku content-topic shape). */
export function topicsOf(conversation: string): { app: string; welcome: string; sync: string } {
  return {
    app: `/demls/1/${conversation}-app/proto`,
    welcome: `/demls/1/${conversation}-welcome/proto`,
    sync: `/demls/1/${conversation}-sync/proto`,
  };
}
