/**
 * What the Worker reads of a client (workers/lib/client-info.ts): the address
 * key behind per-address limits, mutes and anonymous-session limits, and the
 * device and country a socket's groups are made of.
 */
import { describe, expect, it } from "vitest";
import { clientCountry, clientIp, clientNetwork, deviceType } from "../../workers/lib/client-info.js";

it("IPv4 as is, IPv6 by its /64, IPv4-mapped as IPv4, malformed unchanged", () => {
  expect(clientNetwork("203.0.113.7")).toBe("203.0.113.7");
  expect(clientNetwork("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
  expect(clientNetwork("2001:db8:1:2::9")).toBe("2001:db8:1:2::/64");
  expect(clientNetwork("2001:DB8:0001:0002:aaaa::1")).toBe("2001:db8:1:2::/64");
  expect(clientNetwork("2001:db8::1")).toBe("2001:db8:0:0::/64");
  expect(clientNetwork("::1")).toBe("0:0:0:0::/64");
  expect(clientNetwork("::ffff:198.51.100.4")).toBe("198.51.100.4");
  expect(clientNetwork("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
  expect(clientNetwork("garbage:::x")).toBe("garbage:::x");
});

describe("client info (groups)", () => {
  it("device type from User-Agent", () => {
    expect(deviceType("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148")).toBe("mobile");
    expect(deviceType("Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36")).toBe("mobile");
    expect(deviceType("Mozilla/5.0 (Linux; Android 13; SM-X700) Safari/537.36")).toBe("tablet");
    expect(deviceType("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)")).toBe("tablet");
    expect(deviceType("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120")).toBe("desktop");
    expect(deviceType("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)")).toBe("desktop");
    expect(deviceType("Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0)")).toBe("tv");
    expect(deviceType("curl/8.5.0")).toBe("bot");
    expect(deviceType("")).toBe("other");
    expect(deviceType(undefined)).toBe("other");
  });

  it("country from cf, else the CF-IPCountry header; IP from CF-Connecting-IP", () => {
    const withCf = new Request("http://x/");
    Object.defineProperty(withCf, "cf", { value: { country: "fr" } });
    expect(clientCountry(withCf)).toBe("FR");
    expect(clientCountry(new Request("http://x/", { headers: { "CF-IPCountry": "de" } }))).toBe("DE");
    expect(clientCountry(new Request("http://x/", { headers: { "CF-IPCountry": "XX" } }))).toBeNull();
    expect(clientCountry(new Request("http://x/", { headers: { "CF-IPCountry": "Narnia" } }))).toBeNull();
    expect(clientCountry(new Request("http://x/"))).toBeNull();
    expect(clientIp(new Request("http://x/", { headers: { "CF-Connecting-IP": "203.0.113.9" } }))).toBe("203.0.113.9");
    expect(clientIp(new Request("http://x/", { headers: { "X-Forwarded-For": "198.51.100.2, 10.0.0.1" } }))).toBe("198.51.100.2");
    expect(clientIp(new Request("http://x/"))).toBe("unknown");
  });
});
