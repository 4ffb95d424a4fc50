// Local validation with the server's limits (src/gen/limits.ts, generated from
// proto/otn/v1/limits.json) and the server's field paths, order and descriptions (src/rules in
// the repository), so a bad request fails before it is sent, with every bad field at once (the
// first 50, as the server lists). A repeated field's count is checked before its entries: a list
// over its maximum is one violation and its entries are not looked at.
// proto/otn/v1/validation-cases.json pins the edge cases.
import type { FieldViolation } from "./errors";
import { BadRequest_FieldViolation } from "./gen/google/rpc/error_details";
import * as L from "./gen/limits";
import type { Audience, Button, Content, SendOptions } from "./gen/otn/v1/sending";
import type { TagFilter } from "./gen/otn/v1/resources";
import {
  ctaTextFromJSON,
  imageAspectRatioFromJSON,
  optInTemplateFromJSON,
  type ListEligibleRequest,
  type RequestOptInRequest,
  type SendNotificationRequest,
} from "./gen/otn/v1/service";

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
    if (this.list.length < L.VIOLATIONS_MAX) this.list.push(BadRequest_FieldViolation.fromPartial({ field, description }));
  }

  /**
   * A repeated field's length, checked before its entries: false (one violation of the list)
   * when it is out of range, and then its entries must not be checked.
   */
  count(field: string, n: number, min: number, max: number): boolean {
    if (n < min || n > max) {
      const what = min === 0 ? `must hold at most ${max} entries` : `must hold ${min} to ${max} entries`;
      this.push(field, `${what} (got ${n})`);
      return false;
    }
    return true;
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

  /** At most `max` tags, then each (trimmed, lower-cased as the server stores it), named by index. */
  tags(field: string, tags: readonly string[], max: number): void {
    if (!this.count(field, tags.length, 0, max)) return;
    tags.forEach((t, i) => {
      this.ident(`${field}[${i}]`, trimWhitespace(t).toLowerCase(), L.TAG_MAX_CHARS, L.TAG_ALPHABET);
    });
  }

  /** At most REGIONS_MAX regions, then each: two ASCII letters (ISO 3166-1 alpha-2), named by index. */
  regions(field: string, regions: readonly string[]): void {
    if (!this.count(field, regions.length, 0, L.REGIONS_MAX)) return;
    regions.forEach((r, i) => {
      if (!/^[A-Z]{2}$/.test(trimWhitespace(r).toUpperCase())) {
        this.push(`${field}[${i}]`, "must be an ISO 3166-1 alpha-2 code such as `DE`");
      }
    });
  }

  /** Each list of a tag filter: at most TAG_FILTER_TAGS_MAX valid tags. */
  tagFilter(field: string, f: TagFilter): void {
    this.tags(`${field}.all_of`, f.allOf, L.TAG_FILTER_TAGS_MAX);
    this.tags(`${field}.any_of`, f.anyOf, L.TAG_FILTER_TAGS_MAX);
    this.tags(`${field}.none_of`, f.noneOf, L.TAG_FILTER_TAGS_MAX);
  }

  time(field: string, t: Date | undefined): void {
    if (t === undefined) return;
    const ms = t.getTime();
    if (!(ms >= 0 && ms <= MAX_TIME_MS)) this.push(field, "must be a valid timestamp between 1970 and 9999");
  }

  /** An http(s) URL with a host (https only for an opt-in image), at most the limit's characters. */
  webUrl(field: string, url: string, httpsOnly = false): void {
    const max = httpsOnly ? L.OPT_IN_IMAGE_URL_MAX_CHARS : L.WEB_URL_MAX_CHARS;
    if (!isWebUrl(url, httpsOnly) || charCount(url) > max) {
      this.push(field, `must be an ${httpsOnly ? "https" : "http(s)"} URL with a host, at most ${max} characters`);
    }
  }
}

// A oneof set in a ts-proto object on more than one member is encoded member by member, and the
// server keeps the last one on the wire; the validator judges that one.

function content(v: Violations, c: Content | undefined): void {
  if (c?.buttonTemplate !== undefined) {
    const b = c.buttonTemplate;
    v.text("content.button_template.text", b.text, 1, L.TEMPLATE_TEXT_MAX_CHARS);
    if (v.count("content.button_template.buttons", b.buttons.length, 1, L.BUTTONS_MAX)) {
      b.buttons.forEach((btn, i) => button(v, `content.button_template.buttons[${i}]`, btn));
    }
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
    if (v.count("audience.recipients.psids", psids.length, 1, L.RECIPIENTS_LIST_MAX)) {
      psids.forEach((p, i) => v.psid(`audience.recipients.psids[${i}]`, p));
    }
  } else if (a?.tagFilter !== undefined) {
    v.tagFilter("audience.tag_filter", a.tagFilter);
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
  if (optInTemplateFromJSON(r.template) < 0) v.push("template", `unknown template ${r.template}`);
  const m = r.marketing;
  if (m !== undefined) {
    if (m.imageUrl) v.webUrl("marketing.image_url", m.imageUrl, true);
    if (imageAspectRatioFromJSON(m.imageAspectRatio) < 0) v.push("marketing.image_aspect_ratio", "unknown aspect ratio");
    if (ctaTextFromJSON(m.ctaText) < 0) v.push("marketing.cta_text", "unknown call-to-action text");
    if (m.timezone) v.ident("marketing.timezone", m.timezone, 64, "/_-+");
  }
  return v.list;
}

/** The violations of a ListEligible request (empty when the server would accept it; the page token is the server's). */
export function validateListEligible(r: ListEligibleRequest): FieldViolation[] {
  const v = new Violations();
  v.pageId("page_id", r.pageId);
  v.topicKey("topic_key", r.topicKey);
  if (r.tagFilter !== undefined) v.tagFilter("tag_filter", r.tagFilter);
  v.regions("regions", r.regions);
  if (!(r.pageSize >= 0 && r.pageSize <= L.PAGE_SIZE_MAX)) {
    v.push("page_size", `must be between 0 (default ${L.PAGE_SIZE_DEFAULT}) and ${L.PAGE_SIZE_MAX}`);
  }
  return v.list;
}
