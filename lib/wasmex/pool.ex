defmodule Wasmex.Pool do
  @moduledoc ~S"""
  A pool of warm instances of one core module, behind one name.

  Put it in a supervision tree (it is a supervisor) and call it like a `Wasmex` server:

      children = [
        {Wasmex.Pool, name: MyApp.Sum, bytes: File.read!("sum.wasm"), size: 4}
      ]

      {:ok, [3]} = Wasmex.Pool.call_function(MyApp.Sum, "sum", [1, 2])

  The module is compiled once; each of the `:size` members has its own store and instance.

  ## Options
  Everything `Wasmex.start_link/1` takes (a keyword list or a map): `:bytes` (or `:path`, or
  `:module` compiled with the default engine or with `:store`), `:imports`, `:links`, `:wasi`,
  `:timeout` (start function), `:store` (a template: each member gets a new store with the same
  engine, limits and WASI options). `:instance` is refused: an instance lives in one store.
  Then the pool's own:

    * `:name` (required) - an atom; the pool is called by it;
    * `:size` - members, default `System.schedulers_online()`;
    * `:fresh` - `false` (default): members are warm, each keeps its state between calls like one
      `Wasmex` server. `true`: every call runs in a new instance of the compiled module, so
      nothing one call leaves in memory, globals or tables is seen by the next (per-request,
      untrusted code); `:size` then bounds how many calls run at once. Each member builds the
      instance for its next call right after answering one (a start function runs then). A
      module with a memory, in a plain or `:wasi` store (no preopens, no `:links`, not
      `:store`), gets that instance's memory from a pool of reused slots, as a
      `Wasmex.Command` run does: a module with 17 pages of memory answered in 21.7 µs (median)
      and 56k calls/s with 4 callers, against 27.5 µs and 15k/s in stores of its own;
    * `:max_waiting` - callers that may wait for a member, default `10 * size`; one more gets
      `{:error, :overloaded}` at once;
    * `:distributed` - `true` joins the `:pg` group named after the pool, so that other nodes
      can call it (see "Across nodes");
    * `:spill` - `true`: when every local member is busy, a call goes to a pool of the same name
      on another node, if there is one;
    * `:watch` - `true` (with `:path`): reload the pool when the file changes (its modification
      time or size, checked every 250 ms), a development mode. A failed reload is logged.

  A bad option value raises `ArgumentError` naming the option and the value. Stop a pool
  with `Supervisor.stop/1` on the pid `start_link/1` returned.

  ## Where a call runs
  Each member is a process that owns its store and instance, like a `Wasmex` server. The caller
  picks a member without a message (the pool's figures are atomics read through
  `:persistent_term`) and calls it. Each scheduler has a member of its own
  (`rem(scheduler_id, size) + 1`), taken when it is idle (in a pool with more members than
  schedulers, each scheduler has several, and a hash of the caller's pid picks one, so every
  member gets callers); when it is busy, an idle member among the next three is taken; when none is idle, the caller waits at its own member, and once
  more than `max_waiting / size` callers are there, at the least loaded of those four. Callers
  that keep to their scheduler's member give each member a queue it runs without sleeping:
  with 64 callers on a pool of 2, this made 1.09-1.48x the calls of picking the least loaded
  member every time (BENCHMARKS.md).

  **Elixir imports run in the member process**, as in a `Wasmex` server (`self()` in an import
  is the member, not the caller). A call sent to another node runs in a process on that node,
  and its imports run there.

  Lending members to callers, who run the call themselves (imports in the caller, no message
  hop for the call but two for the loan, through a broker process), was built first and
  measured against this design with `sum` on this 2-core machine, under load from other jobs
  (short runs, so rough figures): 1 caller, median 2.8-3.0 µs lending (1.3-1.4x
  `Wasmex.call_function/4` on one server, 2.1-2.3 µs) vs 2.6-2.7 µs routing (1.14x);
  64 callers on 2 members, 106k-198k calls/s lending vs 335k-642k routing, with 64 callers on
  64 own `Wasmex` servers at 330k-670k in the same runs. The broker serializes two messages
  per call and becomes the bottleneck; members that run the calls scale like servers.

  ## Calls and failures
  `call_function/4` returns what `Wasmex.call_function/4` returns, plus these errors:

    * `:overloaded` - too many callers wait (see below);
    * `:noproc` - no pool of that name here or on a connected node;
    * `{:member_down, reason}` - the member process running or holding the call died (the
      arguments in a crash's stacktrace become arities, as for `Wasmex.call_function/4`);
    * `{:nodedown, node}` - the node running the call went away (it may have run);
    * `{:remote_exit, node, reason}` - the call on another node raised (`reason` is the
      exception), exited (the exit reason, arguments in a stacktrace become arities), threw
      (`{:nocatch, value}`), or that node lacks the code (`:undef`).

  Its timeout covers waiting for a member and running; a call that reaches its member after its deadline is
  answered `{:error, :timeout}` without running, so a caller that gave up never has its call
  run later. Waiting callers are counted per member: a member with `max_waiting / size`
  (rounded up) callers queued takes no more, and when the least loaded member is that full the
  call returns `{:error, :overloaded}` at once.

  A call that returns an error (a trap, a timeout, a bad argument: errors are not told apart
  by their text; only a call of a function that is not exported is spared) is answered, then
  its member builds a new instance, so a warm member's state is reset then. A member process that dies (a crash, a kill) is restarted by the pool's
  supervisor; the caller of the call it was running gets `{:error, {:member_down, reason}}`,
  never an exit, and so do callers queued on it; other members and their callers do not
  notice. `stats/1` reads the figures without a message.

  ## Reload
  `reload/2` swaps in new code while calls go on: the new code is compiled and instantiated
  once in the calling process; if that fails, it returns `{:error, reason}` and the old code
  keeps serving. Otherwise it becomes the pool's code: a call that is running keeps the old
  code, every member builds an instance of the new code before its next call (idle members
  at once), and no call fails because of the reload. Calls that start after `:ok` run the new code.

  ## Across nodes
  With `distributed: true` on the nodes that run the pool, `call_function/4` on a connected node
  with no local pool of that name runs the call on one of them, the less loaded of two chosen
  at random. If that node goes down during the call, the call answers
  `{:error, {:nodedown, node}}` and is not retried (it may have run); later calls go to the nodes
  left. Distributed Erlang and `:pg` do the work (`Wasmex.Pool.Scope` is the `:pg` scope, started
  on first use on each node).
  """

  alias Wasmex.Pool.{Client, Core}

  @type pool :: atom()
  @type stats :: %{
          size: pos_integer(),
          idle: non_neg_integer(),
          busy: non_neg_integer(),
          waiting: non_neg_integer(),
          calls: non_neg_integer(),
          replaced: non_neg_integer()
        }

  @doc """
  Starts a pool (a supervisor). Compile and instantiation failures return `{:error, reason}`.

      iex> wat = ~S[(module (func (export "sum") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))]
      iex> {:ok, _sup} = Wasmex.Pool.start_link(name: DocSumPool, bytes: wat, size: 2)
      iex> Wasmex.Pool.call_function(DocSumPool, "sum", [40, 2])
      {:ok, [42]}
  """
  @spec start_link(keyword() | map()) :: Supervisor.on_start()
  def start_link(opts), do: Wasmex.Pool.Supervisor.start_link(Core, opts)

  @doc """
  A child spec for supervision trees: `{Wasmex.Pool, name: MyApp.Pool, bytes: bytes}`.

      iex> %{id: MyPool, type: :supervisor} = Wasmex.Pool.child_spec(name: MyPool, bytes: "(module)")
  """
  @spec child_spec(keyword() | map()) :: Supervisor.child_spec()
  def child_spec(opts), do: Wasmex.Pool.Supervisor.child_spec(__MODULE__, Core, opts)

  @doc """
  Calls the exported function `name` on a member: `{:ok, results}` or `{:error, reason}`.
  `timeout` (ms or `:infinity`) covers waiting for a member and running.

      iex> {:ok, _} = Wasmex.Pool.start_link(name: DocSevenPool, bytes: ~S[(module (func (export "f") (result i64) i64.const 7))])
      iex> Wasmex.Pool.call_function(DocSevenPool, :f, [])
      {:ok, [7]}
  """
  @spec call_function(pool(), atom() | binary(), list(), timeout()) ::
          {:ok, [number()]} | {:error, term()}
  def call_function(pool, name, params, timeout \\ 5000) when is_atom(pool) and is_list(params),
    do: Client.call(pool, Wasmex.Utils.stringify(name), params, timeout)

  @doc """
  The pool's figures, read without a message: members `idle` and `busy`, callers `waiting`
  (queued behind a running call), `calls` served and instances `replaced` after a failed call.
  Raises `ArgumentError` if no pool of that name runs on this node.

      iex> {:ok, _} = Wasmex.Pool.start_link(name: DocStatsPool, bytes: "(module)", size: 2)
      iex> Wasmex.Pool.stats(DocStatsPool)
      %{size: 2, idle: 2, busy: 0, waiting: 0, calls: 0, replaced: 0}
  """
  @spec stats(pool()) :: stats()
  def stats(pool), do: Wasmex.Pool.Supervisor.stats(pool)

  @doc """
  Replaces the pool's code with new `:bytes` or `:path` (and optionally new `:imports`); see
  "Reload" above. Returns `:ok` once the new code serves.

      iex> {:ok, _} = Wasmex.Pool.start_link(name: DocReloadPool, bytes: ~S[(module (func (export "v") (result i32) i32.const 1))])
      iex> :ok = Wasmex.Pool.reload(DocReloadPool, bytes: ~S[(module (func (export "v") (result i32) i32.const 2))])
      iex> Wasmex.Pool.call_function(DocReloadPool, "v", [])
      {:ok, [2]}
      iex> {:error, "Error while parsing bytes: " <> _} = Wasmex.Pool.reload(DocReloadPool, bytes: "(module")
      iex> Wasmex.Pool.call_function(DocReloadPool, "v", [])
      {:ok, [2]}
  """
  @spec reload(pool(), keyword() | map()) :: :ok | {:error, term()}
  def reload(pool, opts), do: Wasmex.Pool.Supervisor.reload(pool, opts)
end
