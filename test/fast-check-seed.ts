// Preloaded by `npm test` (node --import): every fast-check property runs from one fixed seed, so a CI run
// is replayable and cannot fail by the luck of a fresh seed. `FC_SEED=<n>` picks another seed,
// `FC_SEED=random` a fresh one per run; `npm run test:soak` explores with random seeds and many more runs.
import fc from "fast-check";

const seed = process.env.FC_SEED ?? "20261125";
if (seed !== "random") fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: Number(seed) });
