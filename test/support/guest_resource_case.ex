defmodule Wasmex.GuestResourceCase do
  @moduledoc """
  The case template of the `Wasmex.Components.GuestResource` suites (the module suite and
  test/features/guest_resources_test.exs): `Wasmex.ComponentCase`, the paths and error texts of
  the resources fixture as module attributes, and helpers that make and inspect accumulators.

      defmodule Wasmex.SomeGuestResourceTest do
        use Wasmex.GuestResourceCase, async: true

        setup :server

        test "a new accumulator", %{pid: pid} do
          assert value(acc!(pid, 3)) == {:ok, 3}
        end
      end
  """
  use ExUnit.CaseTemplate

  import ExUnit.Assertions
  import Wasmex.ComponentTestHelpers
  import Wasmex.TestHelpers, only: [wait_until: 1]

  alias Wasmex.Components
  alias Wasmex.Components.{Component, GuestResource, Instance, Store}

  # test/fixtures/components/component_resources.wasm (wasm/component_resources)
  @counters "wasmex:resources/counters@1.2.3"
  @accumulator [@counters, "accumulator"]

  using do
    quote do
      import Wasmex.TestHelpers
      import Wasmex.ComponentTestHelpers
      import Wasmex.GuestResourceCase

      alias Wasmex.Components
      alias Wasmex.Components.{Component, GuestResource, Instance, Store}

      @counters "wasmex:resources/counters@1.2.3"
      @accumulator [@counters, "accumulator"]
      @label [@counters, "label"]

      @moved "Guest resource has already been dropped or moved"
      @moved_arg "Guest resource has already been dropped or moved (argument 1)"
      @other_store_arg "Guest resource belongs to another store (argument 1)"
      @wrong_type_arg "Guest resource has the wrong resource type: expected `accumulator`, " <>
                        "got `label` (argument 1)"
    end
  end

  setup context, do: Wasmex.Case.unique_name(context)

  @doc "A setup step: starts a `Wasmex.Components` server of the resources fixture as `pid`."
  @spec server(map()) :: %{pid: pid()}
  def server(_context), do: %{pid: start_component!("component_resources")}

  @doc "A low-level instance of the fixture in `store` (a fresh WASI store by default)."
  @spec instance!(Store.t() | nil) :: {Store.t(), struct(), Instance.t()}
  def instance!(store \\ nil) do
    store = store || elem(Store.new_wasi(), 1)
    assert {:ok, component} = Component.new(store, component_bytes("component_resources"))
    assert {:ok, %Instance{} = instance} = Instance.new(store, component, %{})
    {store, component, instance}
  end

  @doc "A new accumulator starting at `start`, on a server or an instance."
  @spec acc!(pid() | struct(), integer()) :: GuestResource.t()
  def acc!(instance_or_server, start) do
    assert {:ok, %GuestResource{} = acc} =
             GuestResource.new(instance_or_server, @accumulator, [start])

    acc
  end

  @doc "The accumulator's value, as the guest's `value` method answers it."
  @spec value(GuestResource.t()) :: {:ok, integer()} | {:error, term()}
  def value(resource), do: GuestResource.call(resource, :method, :value, [])

  @doc "How many accumulators the guest has dropped so far."
  @spec dropped(pid()) :: non_neg_integer()
  def dropped(pid) do
    assert {:ok, count} = Components.call_function(pid, {@counters, "dropped"}, [])
    count
  end

  @doc "Creates a handle and forgets it (so a garbage collection of the caller frees it)."
  @spec make_and_forget(pid()) :: :ok
  def make_and_forget(pid) do
    {:ok, %GuestResource{}} = GuestResource.new(pid, @accumulator, [1])
    :ok
  end

  @doc """
  Creates `n` handles (accumulators starting at `start`), all referenced until it returns, and
  forgets them: a garbage collection of the caller then frees them together.
  """
  @spec make_and_forget_many(pid() | Instance.t(), pos_integer(), non_neg_integer()) :: :ok
  def make_and_forget_many(pid, n, start \\ 1) do
    handles = for _ <- 1..n, do: acc!(pid, start)
    ^n = length(handles)
    :ok
  end

  @doc """
  A low-level instance with two accumulators, whose store a trap in the first one's method has
  broken: `{instance, trapped, other}`.
  """
  @spec trapped_instance!() :: {Instance.t(), GuestResource.t(), GuestResource.t()}
  def trapped_instance! do
    {_store, _component, instance} = instance!()
    trapped = acc!(instance, 1)
    other = acc!(instance, 2)

    assert {:error, "Error executing function" <> _} =
             GuestResource.call(trapped, :method, :fail, [])

    {instance, trapped, other}
  end

  @doc """
  Starts a spinning method call (stopped after `timeout` ms) on the server's store in a task and
  waits until the store is busy with it: `{task, other}`, `other` a second handle of the store.
  """
  @spec spin_on_store!(pid(), timeout()) :: {Task.t(), GuestResource.t()}
  def spin_on_store!(pid, timeout) do
    spinning = acc!(pid, 0)
    other = acc!(pid, 1)
    task = Task.async(fn -> GuestResource.call(spinning, :method, :spin, [], timeout) end)
    wait_until(fn -> busy?(GuestResource.call(other, :method, :value, [], 10)) end)
    {task, other}
  end

  @doc "Whether a call's answer says the store was busy with another call."
  @spec busy?(term()) :: boolean()
  def busy?({:error, "the store is busy with a running call" <> _}), do: true
  def busy?(_), do: false
end
