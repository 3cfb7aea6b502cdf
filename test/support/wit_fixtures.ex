defmodule Wasmex.WitFixtures do
  @moduledoc false
  # WIT sources and the Discovery info maps the resource suites compare against
  # (guest_resource/discovery_test.exs, host_resource/discovery_test.exs and the macro suites).

  @counters "wasmex:resources/counters@1.2.3"
  @logging "wasmex:host-resources/logging@0.1.0"

  @doc "Two imported interfaces that both define a resource `r` (a constructor in `i`, `f` in `j`)."
  def two_imported_interfaces do
    """
    package a:b;
    interface i { resource r { constructor(); } }
    interface j { resource r { f: func(x: u32) -> u32; } }
    world w { import i; import j; }
    """
  end

  @doc """
  Two interfaces that both define a resource `r` (a constructor in `i`, `f: func()` in `j`),
  exported (`:export`) or imported (`:import`) by the world.
  """
  def two_interfaces(direction) when direction in [:export, :import] do
    """
    package a:b;
    interface i { resource r { constructor(); } }
    interface j { resource r { f: func(); } }
    world w { #{direction} i; #{direction} j; }
    """
  end

  @doc """
  An interface `i` whose resource `r` has an async method `m` and an async static `s`, exported
  (`:export`) or imported (`:import`) by the world.
  """
  def async_resource(direction) when direction in [:export, :import] do
    """
    package a:b;
    interface i { resource r { m: async func(x: u32) -> u32; s: static async func(); } }
    world w { #{direction} i; }
    """
  end

  @doc """
  Two worlds: `w` exports (`:export`) or imports (`:import`) an interface `i` whose resource `r`
  has a method `f: func()`; `v` is empty.
  """
  def two_worlds(direction) when direction in [:export, :import] do
    """
    package a:b;
    interface i { resource r { f: func(); } }
    world w { #{direction} i; }
    world v { }
    """
  end

  @doc "The info map GuestResource.Discovery gives for an exported resource."
  def guest_info(name, interface, interface_name, functions \\ []) do
    %{
      name: name,
      interface: interface,
      interface_path: [interface_name],
      constructor_path: [interface_name, name],
      functions: functions
    }
  end

  @doc "The info map HostResource.Discovery gives for an imported resource."
  def host_info(name, interface, interface_name, functions \\ []) do
    %{name: name, interface: interface, interface_path: [interface_name], functions: functions}
  end

  @doc "One function of a guest resource's info map."
  def guest_fn(wit_name, elixir_name, kind, arity, has_return) do
    %{
      wit_name: wit_name,
      elixir_name: elixir_name,
      kind: kind,
      arity: arity,
      has_return: has_return
    }
  end

  @doc "One function of a host resource's info map: a guest function plus its canonical name."
  def host_fn(canonical_name, wit_name, elixir_name, kind, arity, has_return) do
    wit_name
    |> guest_fn(elixir_name, kind, arity, has_return)
    |> Map.put(:canonical_name, canonical_name)
  end

  @doc "`accumulator` of wasm/component_resources/wit/resources.wit."
  def accumulator_info do
    guest_info("accumulator", "counters", @counters, [
      guest_fn("constructor", "constructor", :constructor, 1, true),
      guest_fn("add", "add", :method, 1, true),
      guest_fn("value", "value", :method, 0, true),
      guest_fn("peek-other", "peek_other", :method, 1, true),
      guest_fn("absorb", "absorb", :method, 1, true),
      guest_fn("split", "split", :method, 1, true),
      guest_fn("maybe-copy", "maybe_copy", :method, 1, true),
      guest_fn("many", "many", :method, 1, true),
      guest_fn("checked-copy", "checked_copy", :method, 0, true),
      guest_fn("snapshot", "snapshot", :method, 0, true),
      guest_fn("reset", "reset", :method, 0, false),
      guest_fn("pair", "pair", :method, 0, true),
      guest_fn("spin", "spin", :method, 0, false),
      guest_fn("fail", "fail", :method, 0, false),
      guest_fn("from-sum", "from_sum", :static, 2, true),
      guest_fn("sum-all", "sum_all", :static, 1, true),
      guest_fn("nothing", "nothing", :static, 0, false)
    ])
  end

  @doc "`label` of wasm/component_resources/wit/resources.wit."
  def label_info do
    constructor = guest_fn("constructor", "constructor", :constructor, 1, true)
    text = guest_fn("text", "text", :method, 0, true)
    guest_info("label", "counters", @counters, [constructor, text])
  end

  @doc "`logger` of wasm/component_host_resources/wit/host.wit."
  def logger_info do
    host_info("logger", "logging", @logging, [
      host_fn("[constructor]logger", "constructor", "constructor", :constructor, 1, true),
      host_fn("[method]logger.log", "log", "log", :method, 1, true),
      host_fn("[method]logger.count", "count", "count", :method, 0, true),
      host_fn("[static]logger.make-default", "make-default", "make_default", :static, 0, true)
    ])
  end

  @doc "The error for `package a:b; oops` read from `source`."
  def parse_error(source) do
    "Failed to parse WIT: expected `world`, `interface` or `use`, found an identifier (in `#{source}`)"
  end

  @doc "The error for a package with worlds `w` and `v` read from `source` without `:world`."
  def two_worlds_error(source) do
    "Failed to select world: There are multiple worlds in `a:b`; " <>
      "one must be explicitly chosen:\n  a:b/w\n  a:b/v (in `#{source}`)"
  end

  @doc "The error for a WIT `path` that does not exist."
  def missing_path_error(path) do
    "Failed to parse WIT: failed to read path for WIT [#{Path.expand(path)}]: " <>
      "No such file or directory (os error 2) (in `#{path}`)"
  end
end
