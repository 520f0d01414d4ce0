#!/usr/bin/env node
// demls command line. For now it runs the MLS-layer fork-and-realign demo.
import { runDemo } from "./demo.ts";

const ok = await runDemo();
process.exitCode = ok ? 0 : 1;
