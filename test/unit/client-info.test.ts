/** The address key behind per-address limits, mutes and anonymous-session limits (workers/lib/client-info.ts). */
import { expect, it } from "vitest";
import { clientNetwork } from "../../workers/lib/client-info.js";
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
