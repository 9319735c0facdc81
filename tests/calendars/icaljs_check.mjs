// Parse an iCalendar file with Mozilla's ical.js, strictly, and print its events as JSON.
// Usage: node tests/calendars/icaljs_check.mjs FILE
// Prints {"calendar": {...}, "events": [...]} on success, or {"error": "..."} and exits 1.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

function fail(message) {
  process.stdout.write(JSON.stringify({ error: message }) + "\n");
  process.exit(1);
}

function required(component, name, where) {
  if (!component.hasProperty(name)) fail(`${where}: missing ${name.toUpperCase()}`);
  return component.getFirstPropertyValue(name);
}

let calendar;
try {
  const text = readFileSync(process.argv[2], "utf8");
  if (!text.endsWith("\r\n")) fail("content lines must end with CRLF");
  for (const line of text.split("\r\n")) {
    if (Buffer.byteLength(line, "utf8") > 75) fail(`line longer than 75 octets: ${line}`);
    if (line.includes("\n")) fail("bare LF inside a content line");
  }
  calendar = new ICAL.Component(ICAL.parse(text));
} catch (error) {
  fail(`parse error: ${error.message}`);
}
if (calendar.name !== "vcalendar") fail(`top component is ${calendar.name}`);
if (required(calendar, "version", "VCALENDAR") !== "2.0") fail("VERSION must be 2.0");
required(calendar, "prodid", "VCALENDAR");

const zones = new Set();
for (const vtimezone of calendar.getAllSubcomponents("vtimezone")) {
  const zone = new ICAL.Timezone(vtimezone);
  ICAL.TimezoneService.register(zone, vtimezone.getFirstPropertyValue("tzid"));
  zones.add(zone.tzid);
}

const events = [];
for (const vevent of calendar.getAllSubcomponents("vevent")) {
  const uid = required(vevent, "uid", "VEVENT");
  const where = `VEVENT ${uid}`;
  required(vevent, "dtstamp", where);
  for (const name of ["dtstart", "dtend"]) {
    const tzid = required(vevent, name, where) && vevent.getFirstProperty(name).getParameter("tzid");
    if (tzid && !zones.has(tzid)) fail(`${where}: ${name.toUpperCase()} uses TZID ${tzid} without a VTIMEZONE`);
    if (!tzid && !vevent.getFirstPropertyValue(name).isDate && vevent.getFirstPropertyValue(name).zone !== ICAL.Timezone.utcTimezone) {
      fail(`${where}: ${name.toUpperCase()} is a floating time`);
    }
  }
  const event = new ICAL.Event(vevent);
  if (event.endDate.compare(event.startDate) <= 0) fail(`${where}: DTEND is not after DTSTART`);
  const utc = (time) => time.convertToZone(ICAL.Timezone.utcTimezone).toString();
  events.push({
    uid,
    start_utc: utc(event.startDate),
    end_utc: utc(event.endDate),
    sequence: event.sequence,
    status: vevent.getFirstPropertyValue("status"),
    summary: event.summary,
    description: event.description,
    location: event.location,
    url: vevent.getFirstPropertyValue("url"),
    transp: vevent.getFirstPropertyValue("transp"),
  });
}

process.stdout.write(
  JSON.stringify({
    calendar: {
      name: calendar.getFirstPropertyValue("name"),
      method: calendar.getFirstPropertyValue("method"),
      refresh: String(calendar.getFirstPropertyValue("refresh-interval")),
      timezones: [...zones],
    },
    events,
  }) + "\n",
);
