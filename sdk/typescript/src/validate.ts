// Local validation with the server's limits (src/gen/limits.ts, generated from
// proto/otn/v1/limits.json) and the server's field paths, so a bad request fails before it is
// sent, with every bad field at once. proto/otn/v1/validation-cases.json pins the edge cases.
import type { FieldViolation } from "./errors";
import { BadRequest_FieldViolation } from "./gen/google/rpc/error_details";
import * as L from "./gen/limits";
import type { Audience, Button, Content, SendOptions } from "./gen/otn/v1/sending";
import type { RequestOptInRequest, SendNotificationRequest } from "./gen/otn/v1/service";

/**
 * The message tags a send may name (limits.json `message_tags`); the server's dated policy
 * decides which of them are still accepted on a date. HUMAN_AGENT is refused with its own reason.
 */
export const KNOWN_MESSAGE_TAGS: readonly string[] = L.LIMITS_TABLE.message_tags.values;

/** The latest valid timestamp (9999-12-31T23:59:59.999Z), as the server accepts it. */
const MAX_TIME_MS = 253_402_300_799_999;
const CONTROL = /(?!\n)\p{Cc}/u;
const WHITESPACE = /\p{White_Space}/u;
const TRIM = /^\p{White_Space}+|\p{White_Space}+$/gu;
const ASCII_ALNUM = /^[A-Za-z0-9]$/;

/** Length in Unicode scalar values (characters), as limits.json counts. */
export function charCount(v: string): number {
  let n = 0;
  for (const _ of v) n++;
  return n;
}

/** Trims Unicode White_Space at both ends (what the server's `str::trim` does). */
export function trimWhitespace(v: string): string {
  return v.replace(TRIM, "");
}

/** An http(s) URL followed by a host: not empty, not starting with `/`, without whitespace. */
export function isWebUrl(url: string, httpsOnly = false): boolean {
  const schemes = httpsOnly ? ["https://"] : ["https://", "http://"];
  const scheme = schemes.find((s) => url.startsWith(s));
  if (scheme === undefined) return false;
  const rest = url.slice(scheme.length);
  return rest.length > 0 && !rest.startsWith("/") && !WHITESPACE.test(rest);
}

/** Collects every violation of a request, in the server's order. */
export class Violations {
  readonly list: FieldViolation[] = [];

  push(field: string, description: string): void {
    this.list.push(BadRequest_FieldViolation.fromPartial({ field, description }));
  }

  /** Free text: `min` to `max` characters, no control character but a line feed. */
  text(field: string, v: string, min: number, max: number): boolean {
    const n = charCount(v);
    if (n < min || n > max) {
      if (min === 0) this.push(field, `must be at most ${max} characters (got ${n})`);
      else if (n === 0) this.push(field, "is required");
      else this.push(field, `must be ${min} to ${max} characters (got ${n})`);
      return false;
    }
    if (CONTROL.test(v)) {
      this.push(field, "must not contain control characters");
      return false;
    }
    return true;
  }

  /** 1 to `max` characters of ASCII letters, digits and `extra`. */
  ident(field: string, v: string, max: number, extra: string): boolean {
    if (!this.text(field, v, 1, max)) return false;
    for (const c of v) {
      if (!ASCII_ALNUM.test(c) && !extra.includes(c)) {
        this.push(field, `may only contain letters, digits and \`${extra}\``);
        return false;
      }
    }
    return true;
  }

  requestId(field: string, v: string): void {
    this.ident(field, v, L.REQUEST_ID_MAX_CHARS, L.REQUEST_ID_ALPHABET);
  }
  pageId(field: string, v: string): void {
    this.ident(field, v, L.PAGE_ID_MAX_CHARS, L.ID_ALPHABET);
  }
  psid(field: string, v: string): void {
    this.ident(field, v, L.PSID_MAX_CHARS, L.ID_ALPHABET);
  }
  topicKey(field: string, v: string): void {
    this.ident(field, v, L.TOPIC_KEY_MAX_CHARS, L.TOPIC_KEY_ALPHABET);
  }
  /** A title counts after trimming surrounding whitespace. */
  title(field: string, v: string): void {
    this.text(field, trimWhitespace(v), 1, L.TITLE_MAX_CHARS);
  }
  payload(field: string, v: string): void {
    this.text(field, v, 0, L.PAYLOAD_MAX_CHARS);
  }

  /** Each tag (trimmed, lower-cased as the server stores it), named by index. */
  tags(field: string, tags: readonly string[]): void {
    tags.forEach((t, i) => {
      this.ident(`${field}[${i}]`, trimWhitespace(t).toLowerCase(), L.TAG_MAX_CHARS, L.TAG_ALPHABET);
    });
  }

  /** Each region: two ASCII letters (ISO 3166-1 alpha-2), named by index. */
  regions(field: string, regions: readonly string[]): void {
    regions.forEach((r, i) => {
      if (!/^[A-Z]{2}$/.test(trimWhitespace(r).toUpperCase())) {
        this.push(`${field}[${i}]`, "must be an ISO 3166-1 alpha-2 code such as `DE`");
      }
    });
  }

  time(field: string, t: Date | undefined): void {
    if (t === undefined) return;
    const ms = t.getTime();
    if (!(ms >= 0 && ms <= MAX_TIME_MS)) this.push(field, "must be a valid timestamp between 1970 and 9999");
  }

  webUrl(field: string, url: string, httpsOnly = false): void {
    const max = httpsOnly ? L.OPT_IN_IMAGE_URL_MAX_CHARS : L.WEB_URL_MAX_CHARS;
    if (!isWebUrl(url, httpsOnly)) {
      this.push(field, httpsOnly ? "must be an https URL" : "must be an http(s) URL");
    } else if (charCount(url) > max) {
      this.push(field, `must be at most ${max} characters (got ${charCount(url)})`);
    }
  }
}

// A oneof set in a ts-proto object on more than one member is encoded member by member, and the
// server keeps the last one on the wire; the validator judges that one.

function content(v: Violations, c: Content | undefined): void {
  if (c?.buttonTemplate !== undefined) {
    const b = c.buttonTemplate;
    v.text("content.button_template.text", b.text, 1, L.TEMPLATE_TEXT_MAX_CHARS);
    if (b.buttons.length < 1 || b.buttons.length > L.BUTTONS_MAX) {
      v.push("content.button_template.buttons", `must hold 1 to ${L.BUTTONS_MAX} buttons (got ${b.buttons.length})`);
    }
    b.buttons.forEach((btn, i) => button(v, `content.button_template.buttons[${i}]`, btn));
  } else if (c?.text !== undefined) {
    v.text("content.text", c.text, 1, L.TEXT_MAX_CHARS);
  } else {
    v.push("content", "one text or one button template is required");
  }
}

function button(v: Violations, field: string, b: Button): void {
  v.text(`${field}.title`, b.title, 1, L.BUTTON_TITLE_MAX_CHARS);
  if (b.postbackPayload !== undefined) {
    v.text(`${field}.postback_payload`, b.postbackPayload, 1, L.POSTBACK_PAYLOAD_MAX_CHARS);
  } else if (b.webUrl !== undefined) {
    v.webUrl(`${field}.web_url`, b.webUrl);
  } else {
    v.push(`${field}.action`, "a web_url or a postback_payload is required");
  }
}

function audience(v: Violations, a: Audience | undefined): void {
  if (a?.recipients !== undefined) {
    const psids = a.recipients.psids;
    if (psids.length < 1 || psids.length > L.RECIPIENTS_LIST_MAX) {
      v.push("audience.recipients.psids", `must name 1 to ${L.RECIPIENTS_LIST_MAX} people`);
    }
    psids.forEach((p, i) => v.psid(`audience.recipients.psids[${i}]`, p));
  } else if (a?.tagFilter !== undefined) {
    v.tags("audience.tag_filter.all_of", a.tagFilter.allOf);
    v.tags("audience.tag_filter.any_of", a.tagFilter.anyOf);
    v.tags("audience.tag_filter.none_of", a.tagFilter.noneOf);
  }
}

function options(v: Violations, o: SendOptions | undefined): void {
  if (o === undefined) return;
  if (o.maxRecipients < 0) v.push("options.max_recipients", "must not be negative");
  v.time("options.scheduled_time", o.scheduledTime);
  if (o.rollingConsent !== undefined) v.title("options.rolling_consent.title", o.rollingConsent.title);
  v.regions("options.regions", o.regions);
  if (o.messageTag === "HUMAN_AGENT") {
    v.push("options.message_tag", "HUMAN_AGENT is for a human's replies, never for automation");
  } else if (o.messageTag !== "" && !KNOWN_MESSAGE_TAGS.includes(o.messageTag)) {
    v.push("options.message_tag", `must be one of ${KNOWN_MESSAGE_TAGS.join(", ")}`);
  }
}

/** The violations of a SendNotification request (empty when the server would accept it). */
export function validateSendNotification(r: SendNotificationRequest): FieldViolation[] {
  const v = new Violations();
  v.requestId("request_id", r.requestId);
  v.pageId("page_id", r.pageId);
  v.topicKey("topic_key", r.topicKey);
  audience(v, r.audience);
  content(v, r.content);
  options(v, r.options);
  return v.list;
}

/** The violations of a RequestOptIn request (empty when the server would accept it). */
export function validateRequestOptIn(r: RequestOptInRequest): FieldViolation[] {
  const v = new Violations();
  v.requestId("request_id", r.requestId);
  v.pageId("page_id", r.pageId);
  v.psid("psid", r.psid);
  v.topicKey("topic_key", r.topicKey);
  v.title("title", r.title);
  v.payload("payload", r.payload);
  // The notification_messages template's image (contract fields newer than some servers).
  const imageUrl = (r as { marketing?: { imageUrl?: string } }).marketing?.imageUrl;
  if (imageUrl) v.webUrl("marketing.image_url", imageUrl, true);
  return v.list;
}
