import { conformance } from "./conformance.ts";
import { libp2pHarness, simHarness } from "./harness.ts";

conformance("simulator, broadcast", simHarness("broadcast"), { timeoutMs: 5000 });
conformance("simulator, gossip mesh", simHarness("gossip"), { timeoutMs: 5000 });
conformance("libp2p gossipsub, memory transport", libp2pHarness("memory"), { timeoutMs: 5000 });
