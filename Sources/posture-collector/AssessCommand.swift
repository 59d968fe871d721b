// TODO(issue 7 merge): `posture-collector assess` is deliberately NOT registered in
// CollectorCommand.subcommands yet. It must give exactly what `posture assess` gives, through the
// same assessment code (PostureAssessment's Assessor in main), which this branch does not have.
// Wiring after the merge, in this file:
//   1. options: --config, --contract ID, --profile ID, --incident DATE, [--notified DATE],
//      [--format text|json|html] (DESIGN.md "Collector (contract)"), the same option group as
//      `posture assess` where it can be shared;
//   2. open the store (`openStorage`), then `Collector.evidence(contract:)` returns each enrolled
//      device with its public key and its stored envelopes as `ChainVerifier.Item`s in chain order;
//   3. per device, `Assessor(key: device.key).assess(reports: device.items, attestations: [], request:)`
//      and render with the same text/JSON/HTML renderers and exit statuses as `posture assess`;
//   4. add `AssessCommand.self` to the subcommands and an end-to-end test that `posture assess`
//      and `posture-collector assess` agree on the same evidence.
// No policy evaluation may be written here.
