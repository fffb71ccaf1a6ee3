// Type-level tests of the generated bindings: every line here must compile, and every
// line after `@ts-expect-error` must be a type error (or tsc fails on an unused directive).
import { createAuroraView, mockAuroraView } from "@auroraview/sdk";
import { commands, events, type DeclaredError, type MockHandlers, type TreeNodeOutput, type Frozen } from "./corpus.gen";

// A typed mock backend: each handler is checked against its command.
createAuroraView(
  mockAuroraView<MockHandlers>({
    primitives: (p) => `${p.s}|${p.i}`,
    enums: () => "green",
    positional_only: ([a, b]) => a - b,
    // @ts-expect-error a result of the wrong type
    sync_handler: () => "not a number",
  }),
);
// @ts-expect-error no such command
mockAuroraView<MockHandlers>({ no_such_command: () => 1 });

async function check(): Promise<void> {
  const s: string = await commands.primitives({ s: "a", i: 1, f: 1.5, b: true });
  // @ts-expect-error wrong param type
  await commands.primitives({ s: 1, i: 1, f: 1.5, b: true });
  // @ts-expect-error missing param
  await commands.primitives({ s: "a", i: 1, f: 1.5 });
  // @ts-expect-error unknown param
  await commands.primitives({ s: "a", i: 1, f: 1.5, b: true, extra: 1 });

  await commands.noParams();
  await commands.allOptional();
  await commands.allOptional({ page: 2 });
  await commands.optionalVsDefault({ required_opt: null });
  // @ts-expect-error required (even if nullable) cannot be omitted
  await commands.optionalVsDefault({});

  const r: "ok" | "failed" = await commands.literals({ mode: "fast", level: 2 });
  // @ts-expect-error not one of the literals
  await commands.literals({ mode: "medium", level: 2 });
  // @ts-expect-error not one of the literal numbers
  await commands.literals({ mode: "fast", level: 4 });

  const c: "red" | "green" = await commands.enums({ color: "red", priority: 2 });
  // @ts-expect-error not an enum value
  await commands.enums({ color: "blue", priority: 1 });

  const tree: TreeNodeOutput = await commands.recursive({ root: { name: "a", children: [{ name: "b" }] } });
  const label: string = tree.children[0]?.name ?? ""; // always present in output

  const pet = await commands.discriminated({ pet: { kind: "dog", good: true } });
  if (pet.kind === "cat") {
    const lives: number = pet.lives;
    void lives;
  }
  // @ts-expect-error a dog has no lives
  await commands.discriminated({ pet: { kind: "dog", lives: 9 } });

  const pair: [string, number, boolean] = await commands.tuples({ pair: [1, "a"], many: [1, 2, 3] });
  // @ts-expect-error tuple of the wrong shape
  await commands.tuples({ pair: ["a", 1], many: [] });

  const frozen: Frozen = await commands.frozenModel({ f: { key: "k", version: 1 } });
  // @ts-expect-error frozen models are readonly
  frozen.version = 2;

  const scores: Record<string, { x: number; y: number; z?: number }> = await commands.dicts({ scores: { a: 1 }, nested: { b: [1] } });
  await commands.aliased({ a: { userName: "ada" } });

  try {
    await commands.declaredErrors({ node_id: 1, new_name: "x" });
  } catch (e) {
    const err = e as DeclaredError;
    switch (err.name) {
      case "NameTaken": {
        const field: string = err.data.field;
        void field;
        break;
      }
      case "NotFound":
        break;
      default: {
        const never: never = err;
        void never;
      }
    }
  }

  const off = events.selectionChanged.on((ids) => {
    const first: number | undefined = ids[0];
    void first;
  });
  off();
  events.progress.once((p) => void p.x);
  events.exportScene.send({ recursive: true });
  events.ping.send(null);
  // @ts-expect-error page-bound events cannot be sent
  events.selectionChanged.send([1]);
  // @ts-expect-error wrong payload
  events.exportScene.send({ recursive: "yes" });

  void s, r, c, label, pair, scores;
}
void check;
