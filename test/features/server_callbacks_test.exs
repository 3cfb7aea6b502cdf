defmodule Wasmex.Features.ServerCallbacksTest do
  # Elixir import callbacks through a `Wasmex` server: the context map, memory through the
  # caller, failing callbacks, callbacks that call the server's store, WASI with callbacks.
  use Wasmex.Case, async: true

  alias Wasmex.{Instance, Memory, Pipe, Store, StoreOrCaller}
  alias Wasmex.Wasi.WasiOptions

  @moduletag timeout: 60_000
  @moduletag :capture_log

  @wasi_fixture "wasi_p1_hello.wasm"

  defp math_server!, do: start_wasmex!(%{bytes: Wasmex.WatFixtures.math()})

  describe "call_function/4 with imports (callbacks)" do
    @callback_wat ~S"""
    (module
      (import "env" "cb" (func $cb (param i32 i32) (result i32)))
      (import "env" "multi" (func $multi (param i32) (result i32 i64 f64)))
      (import "env" "touch" (func $touch (param i32 i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "hello")
      (func (export "call_cb") (param i32 i32) (result i32)
        local.get 0 local.get 1 call $cb)
      (func (export "call_multi") (param i32) (result i32 i64 f64)
        local.get 0 call $multi)
      (func (export "call_touch") (result i32)
        i32.const 0 i32.const 5 call $touch
        i32.const 100 i32.load8_u)
      (func (export "times_ten") (param i32) (result i32)
        local.get 0 i32.const 10 i32.mul)
      (func (export "sum") (param i32 i32) (result i32)
        local.get 0 local.get 1 i32.add)
    )
    """

    defp callback_server!(cb, extra \\ %{}) do
      imports = %{
        env: %{
          cb: {:fn, [:i32, :i32], [:i32], cb},
          multi:
            Map.get(extra, :multi, {:fn, [:i32], [:i32, :i64, :f64], fn _ctx, x -> [x, x, x] end}),
          touch: Map.get(extra, :touch, {:fn, [:i32, :i32], [], fn _ctx, _p, _l -> nil end})
        }
      }

      start_wasmex!(%{bytes: @callback_wat, imports: imports})
    end

    test "the callback gets the context map and the wasm arguments" do
      test = self()

      pid =
        callback_server!(fn ctx, a, b ->
          send(test, {:called, ctx, a, b})
          a - b
        end)

      assert {:ok, [7]} = Wasmex.call_function(pid, :call_cb, [10, 3])
      assert_receive {:called, ctx, 10, 3}, 1_000

      assert ctx |> Map.keys() |> Enum.sort() == [:caller, :instance, :memory, :pid]
      assert ctx.pid == pid
      assert {:ok, instance} = Wasmex.instance(pid)
      assert ctx.instance == instance
      assert %Memory{} = ctx.memory
      assert %StoreOrCaller{} = ctx.caller
    end

    test "the caller is only valid while the callback runs" do
      test = self()

      pid =
        callback_server!(fn ctx, a, _b ->
          send(test, {:ctx, ctx})
          a
        end)

      assert {:ok, [1]} = Wasmex.call_function(pid, :call_cb, [1, 2])
      assert_receive {:ctx, ctx}, 1_000

      assert {:error, "Caller is no longer valid"} =
               Memory.read_binary(ctx.caller, ctx.memory, 0, 1)
    end

    test "the callback reads and writes memory through the caller" do
      test = self()

      touch =
        {:fn, [:i32, :i32], [],
         fn ctx, ptr, len ->
           send(test, {:read, Memory.read_binary(ctx.caller, ctx.memory, ptr, len)})
           send(test, {:size, Memory.size(ctx.caller, ctx.memory)})
           :ok = Memory.write_binary(ctx.caller, ctx.memory, 100, <<42>>)
           :ok = Memory.set_byte(ctx.caller, ctx.memory, 101, 43)
           :this_value_is_ignored
         end}

      pid = callback_server!(fn _ctx, a, _b -> a end, %{touch: touch})

      assert {:ok, [42]} = Wasmex.call_function(pid, :call_touch, [])
      assert_receive {:read, "hello"}, 1_000
      assert_receive {:size, 65_536}, 1_000

      {:ok, store} = Wasmex.store(pid)
      {:ok, memory} = Wasmex.memory(pid)
      assert Memory.read_binary(store, memory, 100, 2) == <<42, 43>>
    end

    test "ctx.memory has no resource when no export is named \"memory\"" do
      test = self()

      wat = ~S[(module (import "env" "cb" (func $cb (param i32) (result i32)))
                (memory (export "mem") 1)
                (func (export "f") (param i32) (result i32) local.get 0 call $cb))]

      cb = fn ctx, x ->
        send(test, {:memory, ctx.memory, Memory.size(ctx.caller, ctx.memory)})
        x
      end

      pid = start_wasmex!(%{bytes: wat, imports: %{env: %{cb: {:fn, [:i32], [:i32], cb}}}})
      assert {:ok, [5]} = Wasmex.call_function(pid, :f, [5])
      assert_receive {:memory, %Memory{resource: nil}, size}, 1_000
      assert {:error, "The WebAssembly module has no exported memory."} = size
    end

    test "several results are returned from the callback as a list" do
      multi =
        {:fn, [:i32], [:i32, :i64, :f64], fn _ctx, x -> [x + 1, x * 1_000_000_000, x / 2] end}

      pid = callback_server!(fn _ctx, a, _b -> a end, %{multi: multi})

      assert {:ok, [6, 5_000_000_000, 2.5]} = Wasmex.call_function(pid, :call_multi, [5])
    end

    test "a raising callback is an error and the server stays alive" do
      pid = callback_server!(fn _ctx, _a, _b -> raise "boom" end)
      assert_callback_failure(pid)
    end

    test "a throwing callback is an error and the server stays alive" do
      pid = callback_server!(fn _ctx, _a, _b -> throw(:ball) end)
      assert_callback_failure(pid)
    end

    test "an exiting callback is an error and the server stays alive" do
      pid = callback_server!(fn _ctx, _a, _b -> exit(:bye) end)
      assert_callback_failure(pid)
    end

    test "a callback returning a value of the wrong type is an error" do
      pid = callback_server!(fn _ctx, _a, _b -> "not a number" end)
      assert_callback_failure(pid)
    end

    test "a callback returning the wrong number of results is an error" do
      multi = {:fn, [:i32], [:i32, :i64, :f64], fn _ctx, x -> x end}
      pid = callback_server!(fn _ctx, a, _b -> a end, %{multi: multi})

      assert {:error, reason} = Wasmex.call_function(pid, :call_multi, [1])
      assert reason =~ "the elixir callback threw an exception"
      assert {:ok, [30]} = Wasmex.call_function(pid, :times_ten, [3])
    end

    test "a callback can call back into the same instance through the caller" do
      test = self()

      pid =
        callback_server!(fn ctx, a, b ->
          ref = make_ref()

          :ok =
            Instance.call_exported_function(
              ctx.caller,
              ctx.instance,
              "times_ten",
              [a],
              {self(), ref}
            )

          # the reply is delivered before call_exported_function returns
          reply =
            receive do
              {^ref, reply} -> reply
            after
              0 -> :not_delivered_yet
            end

          send(test, {:nested, reply})
          {:ok, [r]} = reply
          r + b
        end)

      assert {:ok, [42]} = Wasmex.call_function(pid, :call_cb, [4, 2])
      assert_receive {:nested, {:ok, [40]}}, 1_000
    end

    test "a nested call that traps is reported to the callback" do
      test = self()

      wat = ~S[(module (import "env" "cb" (func $cb (result i32)))
                (func (export "boom") (result i32) unreachable)
                (func (export "run") (result i32) call $cb))]

      cb = fn ctx ->
        ref = make_ref()
        :ok = Instance.call_exported_function(ctx.caller, ctx.instance, "boom", [], {self(), ref})

        receive do
          {^ref, reply} -> send(test, {:nested, reply})
        after
          1_000 -> send(test, {:nested, :no_reply})
        end

        7
      end

      pid = start_wasmex!(%{bytes: wat, imports: %{env: %{cb: {:fn, [], [:i32], cb}}}})
      assert {:ok, [7]} = Wasmex.call_function(pid, :run, [])
      assert_receive {:nested, {:error, "Error during function excecution (" <> _}}, 1_000
    end

    test "a callback can call another Wasmex server" do
      other = math_server!()

      pid =
        callback_server!(fn _ctx, a, b ->
          {:ok, [sum]} = Wasmex.call_function(other, :sum, [a, b])
          sum * 2
        end)

      assert {:ok, [14]} = Wasmex.call_function(pid, :call_cb, [3, 4])
      assert {:ok, [1]} = Wasmex.call_function(other, :incr, [])
    end

    test "memory/1 and function_exists/2 answer while the server is blocked in a callback" do
      test = self()

      pid =
        callback_server!(fn _ctx, a, _b ->
          send(test, {:blocked, self()})

          receive do
            {:release, value} -> value + a
          after
            5_000 -> -1
          end
        end)

      call = Task.async(fn -> Wasmex.call_function(pid, :call_cb, [1, 0]) end)
      assert_receive {:blocked, ^pid}, 2_000

      assert {:ok, %Memory{} = memory} = within(1_000, fn -> Wasmex.memory(pid) end)
      assert within(1_000, fn -> Wasmex.function_exists(pid, "times_ten") end) == true
      assert within(1_000, fn -> Wasmex.function_exists(pid, :nope) end) == false
      assert {:ok, %StoreOrCaller{} = store} = within(1_000, fn -> Wasmex.store(pid) end)
      assert {:ok, %Instance{}} = within(1_000, fn -> Wasmex.instance(pid) end)

      send(pid, {:release, 99})
      assert {:ok, [100]} = Task.await(call, 5_000)
      assert Memory.read_binary(store, memory, 0, 5) == "hello"
    end

    test "a WASI store's imports can override wasi_snapshot_preview1 random_get" do
      wat = ~S[(module
        (import "wasi_snapshot_preview1" "random_get" (func $rg (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "rand") (result i32 i32)
          i32.const 16 i32.const 4 call $rg
          i32.const 16 i32.load))]

      test = self()

      random_get =
        {:fn, [:i32, :i32], [:i32],
         fn ctx, ptr, len ->
           send(test, {:random_get, ptr, len})
           :ok = Memory.write_binary(ctx.caller, ctx.memory, ptr, :binary.copy(<<7>>, len))
           0
         end}

      imports = %{wasi_snapshot_preview1: %{random_get: random_get}}
      pid = start_wasmex!(%{bytes: wat, wasi: true, imports: imports})

      assert {:ok, [0, 0x07070707]} = Wasmex.call_function(pid, :rand, [])
      assert_receive {:random_get, 16, 4}, 1_000

      # with an explicit WASI store too
      {:ok, store} = Store.new_wasi(%WasiOptions{})
      pid = start_wasmex!(%{bytes: wat, store: store, imports: imports})
      assert {:ok, [0, 0x07070707]} = Wasmex.call_function(pid, :rand, [])
      assert_receive {:random_get, 16, 4}, 1_000
    end

    test "a WASI program's random_get can be overridden while it still prints" do
      bytes = File.read!(fixture_path(@wasi_fixture))
      {:ok, stdout} = Pipe.new()

      imports = %{
        "wasi_snapshot_preview1" => %{
          "random_get" =>
            {:fn, [:i32, :i32], [:i32],
             fn ctx, ptr, len ->
               :ok = Memory.write_binary(ctx.caller, ctx.memory, ptr, :binary.copy(<<0>>, len))
               0
             end}
        }
      }

      pid = start_wasmex!(%{bytes: bytes, wasi: %WasiOptions{stdout: stdout}, imports: imports})
      assert {:ok, []} = Wasmex.call_function(pid, :_start, [])
      :ok = Pipe.seek(stdout, 0)
      assert Pipe.read(stdout) =~ "Hello from WASI!\n"
    end
  end

  defp assert_callback_failure(pid) do
    assert {:error, reason} = Wasmex.call_function(pid, :call_cb, [1, 2])
    assert is_binary(reason)
    assert reason =~ "the elixir callback threw an exception"
    assert Process.alive?(pid)
    assert {:ok, [30]} = Wasmex.call_function(pid, :times_ten, [3])
    assert {:ok, [3]} = Wasmex.call_function(pid, :sum, [1, 2])
  end
end
