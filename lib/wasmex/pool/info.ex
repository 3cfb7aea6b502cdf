defmodule Wasmex.Pool.Info do
  @moduledoc false
  # What callers read to reach a pool without a message: kept in `:persistent_term` under the
  # pool's name while the pool runs (put by `Wasmex.Pool.Keeper`, erased when the pool stops).
  #
  #   * `{Wasmex.Pool, name}`: the kind, the pool options, the members and the atomics (per
  #     member: callers in flight, calls served, members replaced). A member is its pid once it
  #     has started (`member_started/3`, put again by each member that starts), its registered
  #     name before: a call by pid skips the name lookup;
  #   * `{Wasmex.Pool.Recipe, name}`: the current recipe (replaced by a reload).

  @enforce_keys [
    :kind,
    :name,
    :size,
    :fresh,
    :spill,
    :distributed,
    :watch,
    :max_queue,
    :schedulers,
    :spread,
    :members,
    :counters
  ]
  defstruct @enforce_keys

  @type t :: %__MODULE__{}

  @doc false
  @spec new(module(), map()) :: t()
  def new(kind, pool) do
    schedulers = System.schedulers_online()

    %__MODULE__{
      kind: kind,
      name: pool.name,
      size: pool.size,
      fresh: pool.fresh,
      spill: pool.spill,
      distributed: pool.distributed,
      watch: pool.watch,
      # Waiting callers are counted per member.
      max_queue: div(pool.max_waiting + pool.size - 1, pool.size),
      # Members per scheduler (see `Wasmex.Pool.Client.pick/3`): 1 unless the pool has more
      # members than there are schedulers.
      schedulers: schedulers,
      spread: max(div(pool.size + schedulers - 1, schedulers), 1),
      members: List.to_tuple(for i <- 1..pool.size, do: member_name(pool.name, i)),
      counters: :atomics.new(3 * pool.size, signed: true)
    }
  end

  @doc false
  def member_name(pool, index), do: Module.concat([Wasmex.Pool.Member, pool, "#{index}"])

  @doc false
  @spec get(atom()) :: t() | nil
  def get(pool), do: :persistent_term.get({Wasmex.Pool, pool}, nil)

  @doc false
  def get!(pool), do: :persistent_term.get({Wasmex.Pool, pool})

  @doc false
  def recipe!(pool), do: :persistent_term.get({Wasmex.Pool.Recipe, pool})

  @doc false
  # Puts the pool's info and recipe (a new pool).
  def put(%__MODULE__{name: name} = info, recipe) do
    :persistent_term.put({Wasmex.Pool, name}, info)
    :persistent_term.put({Wasmex.Pool.Recipe, name}, recipe)
    info
  end

  @doc false
  # A member process starts: calls reach it by pid from now on. Members start one at a time
  # (their supervisor starts them in turn), so two never put the info at once.
  @spec member_started(atom(), pos_integer(), pid()) :: :ok
  def member_started(pool, index, pid) do
    info = get!(pool)

    :persistent_term.put({Wasmex.Pool, pool}, %{
      info
      | members: put_elem(info.members, index - 1, pid)
    })
  end

  @doc false
  # Puts the pool's info unless it is there (a restarted keeper keeps the reloaded recipe).
  def put_new(%__MODULE__{name: name} = info, recipe) do
    if get(name) == nil, do: :persistent_term.put({Wasmex.Pool, name}, info)

    if :persistent_term.get({Wasmex.Pool.Recipe, name}, nil) == nil,
      do: :persistent_term.put({Wasmex.Pool.Recipe, name}, recipe)

    get!(name)
  end

  @doc false
  def put_recipe(pool, recipe), do: :persistent_term.put({Wasmex.Pool.Recipe, pool}, recipe)

  @doc false
  def erase(pool) do
    :persistent_term.erase({Wasmex.Pool, pool})
    :persistent_term.erase({Wasmex.Pool.Recipe, pool})
  end

  @doc false
  # Callers in flight at member `index` (running or queued): the caller adds itself before it
  # sends the call, the member takes it off once it has answered. A restarted member starts
  # at 0; a count a crash left behind can be off by the calls lost with it, never below 0 for
  # the callers (`in_flight/2` clamps).
  @spec enter(t(), pos_integer()) :: integer()
  def enter(info, index), do: :atomics.add_get(info.counters, index, 1)

  @doc false
  def leave(info, index), do: :atomics.sub(info.counters, index, 1)
  def reset(info, index), do: :atomics.put(info.counters, index, 0)
  def in_flight(info, index), do: max(:atomics.get(info.counters, index), 0)
  def served(info, index), do: :atomics.add(info.counters, info.size + index, 1)
  def replaced(info, index), do: :atomics.add(info.counters, 2 * info.size + index, 1)

  @doc false
  @spec stats(t()) :: map()
  def stats(info) do
    loads = for i <- 1..info.size, do: in_flight(info, i)

    sum = fn offset ->
      Enum.sum(for i <- 1..info.size, do: :atomics.get(info.counters, offset + i))
    end

    %{
      size: info.size,
      idle: Enum.count(loads, &(&1 == 0)),
      busy: Enum.count(loads, &(&1 > 0)),
      waiting: loads |> Enum.map(&max(&1 - 1, 0)) |> Enum.sum(),
      calls: sum.(info.size),
      replaced: sum.(2 * info.size)
    }
  end
end
