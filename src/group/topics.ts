// The content topics of one conversation.

/** The three topics of a conversation: group traffic, KeyPackages and Welcomes, and the sync channel. */
export interface Topics {
  readonly app: string;
  readonly welcome: string;
  readonly sync: string;
}

/** Topics of a conversation (Waku content-topic shape). */
export function topicsOf(conversation: string): Topics {
  return {
    app: `/demls/1/${conversation}-app/proto`,
    welcome: `/demls/1/${conversation}-welcome/proto`,
    sync: `/demls/1/${conversation}-sync/proto`,
  };
}
