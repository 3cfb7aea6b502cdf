defmodule Wasmex.Features.CoreImportsTest do
  # Elixir functions as a core module's imports: the callback context, argument and result
  # conversion, failures, and callbacks that call back into the store (native/wasmex/src exec
  # loop and callback requests), through `Wasmex.Instance.call_exported_function/6`.
  use Wasmex.Case, async: true

  alias Wasmex.{Instance, Memory, Module, StoreOrCaller}

  # Failing import callbacks are logged; keep the test output clean.
  @moduletag :capture_log

  @min_i64 -9_223_372_036_854_775_808
  @max_v128 340_282_366_920_938_463_463_374_607_431_768_211_455

  describe "call_exported_function/6 with Elixir imports" do
    test "the callback gets the context and the wasm params, and its value is the result" do
      test = self()

      wat = ~S"""
      (module
        (import "env" "add" (func $add (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "run") (param i32 i32) (result i32) local.get 0 local.get 1 call $add))
      """

      add = fn ctx, a, b ->
        send(test, {:ctx, ctx})
        a + b
      end

      {store, _module, instance} =
        instantiate!(wat, %{env: %{add: {:fn, [:i32, :i32], [:i32], add}}})

      assert {:ok, [42]} = call(store, instance, "run", [40, 2])

      assert_received {:ctx, ctx}

      assert %{memory: %Memory{}, caller: %StoreOrCaller{}, pid: pid, instance: ctx_instance} =
               ctx

      assert pid == self()
      assert ctx_instance == instance
      assert ctx.caller.resource != store.resource
    end

    test "the callback runs in the process that makes the call" do
      test = self()

      wat = ~S"""
      (module (import "env" "who" (func $who)) (func (export "run") call $who))
      """

      imports = %{env: %{who: {:fn, [], [], fn _ctx -> send(test, {:ran_in, self()}) end}}}
      {store, _module, instance} = instantiate!(wat, imports)

      task = Task.async(fn -> call(store, instance, "run", []) end)
      assert {:ok, []} = Task.await(task)
      assert_received {:ran_in, pid}
      assert pid == task.pid
    end

    test "context.memory has no resource when there is no export named \"memory\"" do
      test = self()

      wat = ~S"""
      (module
        (import "env" "f" (func $f))
        (memory (export "mem") 1)
        (func (export "run") call $f))
      """

      imports = %{
        env: %{
          f:
            {:fn, [], [],
             fn %{memory: memory, caller: caller} ->
               send(test, {:memory, memory, Memory.read_binary(caller, memory, 0, 1)})
             end}
        }
      }

      {store, _module, instance} = instantiate!(wat, imports)
      assert {:ok, []} = call(store, instance, "run", [])
      assert_received {:memory, %Memory{resource: nil}, result}
      assert {:error, "The WebAssembly module has no exported memory."} = result
    end

    test "all numeric types cross in both directions" do
      wat = ~S"""
      (module
        (import "env" "f" (func $f (param i32 i64 f32 f64 v128) (result f64)))
        (import "env" "v" (func $v (param v128) (result v128)))
        (import "env" "i" (func $i (param i64) (result i64)))
        (import "env" "s" (func $s (param f32) (result f32)))
        (func (export "f") (param i32 i64 f32 f64 v128) (result f64)
          local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 call $f)
        (func (export "v") (param v128) (result v128) local.get 0 call $v)
        (func (export "i") (param i64) (result i64) local.get 0 call $i)
        (func (export "s") (param f32) (result f32) local.get 0 call $s))
      """

      test = self()

      imports = %{
        env: %{
          f:
            {:fn, [:i32, :i64, :f32, :f64, :v128], [:f64],
             fn _ctx, a, b, c, d, e ->
               send(test, {:args, [a, b, c, d, e]})
               a + b + c + d
             end},
          v: {:fn, [:v128], [:v128], fn _ctx, x -> x + 1 end},
          i: {:fn, [:i64], [:i64], fn _ctx, x -> x - 1 end},
          s: {:fn, [:f32], [:f32], fn _ctx, x -> x * 2 end}
        }
      }

      {store, _module, instance} = instantiate!(wat, imports)
      assert {:ok, [10.0]} = call(store, instance, "f", [-1, 4, 2.5, 4.5, @max_v128])
      assert_received {:args, [-1, 4, 2.5, 4.5, @max_v128]}
      assert {:ok, [@max_v128]} = call(store, instance, "v", [@max_v128 - 1])
      assert {:ok, [@min_i64]} = call(store, instance, "i", [@min_i64 + 1])
      assert {:ok, [3.0]} = call(store, instance, "s", [1.5])
    end

    test "a callback with several results returns a list" do
      wat = ~S"""
      (module
        (import "env" "divmod" (func $divmod (param i32 i32) (result i32 i32)))
        (func (export "run") (param i32 i32) (result i32 i32) local.get 0 local.get 1 call $divmod))
      """

      imports = %{
        env: %{
          divmod: {:fn, [:i32, :i32], [:i32, :i32], fn _, a, b -> [div(a, b), rem(a, b)] end}
        }
      }

      {store, _module, instance} = instantiate!(wat, imports)
      assert {:ok, [3, 2]} = call(store, instance, "run", [17, 5])
    end

    test "the return value of a callback without results is ignored" do
      wat = ~S"""
      (module (import "env" "f" (func $f)) (func (export "run") (result i32) call $f i32.const 1))
      """

      imports = %{env: %{f: {:fn, [], [], fn _ctx -> {:anything, "at all"} end}}}
      {store, _module, instance} = instantiate!(wat, imports)
      assert {:ok, [1]} = call(store, instance, "run", [])
    end

    test "an import called in a loop" do
      wat = ~S"""
      (module
        (import "env" "inc" (func $inc (param i32) (result i32)))
        (func (export "run") (param $n i32) (result i32) (local $acc i32)
          (block $done
            (loop $again
              (br_if $done (i32.eqz (local.get $n)))
              (local.set $acc (call $inc (local.get $acc)))
              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
              (br $again)))
          local.get $acc))
      """

      imports = %{env: %{inc: {:fn, [:i32], [:i32], fn _ctx, x -> x + 1 end}}}
      {store, _module, instance} = instantiate!(wat, imports)
      assert {:ok, [1_000]} = call(store, instance, "run", [1_000])
    end

    test "a raising callback makes the call return an error; the instance keeps working" do
      {store, instance} = failing_import_instance!(fn _ctx, _x -> raise "boom" end)
      assert {:error, reason} = call(store, instance, "run", [1])
      assert reason =~ "the elixir callback threw an exception"
      assert {:ok, [7]} = call(store, instance, "seven", [])
    end

    test "a throwing callback makes the call return an error" do
      {store, instance} = failing_import_instance!(fn _ctx, _x -> throw(:up) end)
      assert {:error, reason} = call(store, instance, "run", [1])
      assert reason =~ "the elixir callback threw an exception"
    end

    test "an exiting callback makes the call return an error" do
      {store, instance} = failing_import_instance!(fn _ctx, _x -> exit(:bye) end)
      assert {:error, reason} = call(store, instance, "run", [1])
      assert reason =~ "the elixir callback threw an exception"
    end

    test "a callback returning the wrong type makes the call return an error" do
      for bad <- ["1", :one, nil, 1.5, [1], 2_147_483_648] do
        {store, instance} = failing_import_instance!(fn _ctx, _x -> bad end)
        assert {:error, reason} = call(store, instance, "run", [1]), "returning #{inspect(bad)}"
        assert reason =~ "the elixir callback threw an exception"
      end
    end

    test "a callback returning the wrong number of results makes the call return an error" do
      wat = ~S"""
      (module
        (import "env" "two" (func $two (result i32 i32)))
        (func (export "run") (result i32 i32) call $two))
      """

      for bad <- [[1], [1, 2, 3], 1] do
        imports = %{env: %{two: {:fn, [], [:i32, :i32], fn _ctx -> bad end}}}
        {store, _module, instance} = instantiate!(wat, imports)
        assert {:error, reason} = call(store, instance, "run", [])
        assert reason =~ "the elixir callback threw an exception"
      end
    end

    test "a callback that raises during instantiation makes Instance.new return an error" do
      wat = ~S"""
      (module (import "env" "f" (func $f)) (func $s call $f) (start $s))
      """

      imports = %{env: %{f: {:fn, [], [], fn _ctx -> raise "no start" end}}}
      assert instantiate_error!(wat, imports) =~ "the elixir callback threw an exception"
    end

    test "the caller reads and writes memory" do
      wat = ~S"""
      (module
        (import "env" "upcase" (func $upcase (param i32 i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "hello")
        (func (export "run") (result i32)
          (call $upcase (i32.const 0) (i32.const 5))
          (i32.load8_u (i32.const 100))))
      """

      test = self()

      upcase = fn %{memory: memory, caller: caller}, ptr, len ->
        text = Memory.read_binary(caller, memory, ptr, len)
        :ok = Memory.write_binary(caller, memory, 100, String.upcase(text))

        send(
          test,
          {:memory, text, Memory.size(caller, memory), Memory.get_byte(caller, memory, 1)}
        )

        :ok = Memory.set_byte(caller, memory, 200, 255)
      end

      {store, _module, instance} =
        instantiate!(wat, %{env: %{upcase: {:fn, [:i32, :i32], [], upcase}}})

      assert {:ok, [?H]} = call(store, instance, "run", [])
      assert_received {:memory, "hello", 65_536, ?e}
      memory = memory!(store, instance)
      assert Memory.read_binary(store, memory, 100, 5) == "HELLO"
      assert Memory.get_byte(store, memory, 200) == 255
    end

    test "the caller reads and writes globals and checks exports" do
      wat = ~S"""
      (module
        (import "env" "f" (func $f))
        (global $g (export "g") (mut i32) (i32.const 10))
        (func (export "run") (result i32) call $f global.get $g))
      """

      test = self()

      f = fn %{caller: caller, instance: instance} ->
        send(
          test,
          {:checks, Instance.get_global_value(caller, instance, "g"),
           Instance.function_export_exists(caller, instance, "run"),
           Instance.function_export_exists(caller, instance, "nope")}
        )

        :ok = Instance.set_global_value(caller, instance, "g", 99)
      end

      {store, _module, instance} = instantiate!(wat, %{env: %{f: {:fn, [], [], f}}})
      assert {:ok, [99]} = call(store, instance, "run", [])
      assert_received {:checks, {:ok, 10}, true, false}
    end

    test "the caller calls back into the instance (nested call replying to {self(), ref})" do
      wat = ~S"""
      (module
        (import "env" "cb" (func $cb (param i32) (result i32)))
        (func (export "double") (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
        (func (export "run") (param i32) (result i32) local.get 0 call $cb))
      """

      cb = fn %{caller: caller, instance: instance}, x ->
        ref = make_ref()
        :ok = Instance.call_exported_function(caller, instance, "double", [x], {self(), ref})

        receive do
          {^ref, {:ok, [doubled]}} -> doubled + 1
        after
          5_000 -> raise "no nested reply"
        end
      end

      {store, instance} = cb_instance!(wat, [:i32], [:i32], cb)
      assert {:ok, [11]} = call(store, instance, "run", [5])
    end

    test "nested calls can themselves call imports, several levels deep" do
      wat = ~S"""
      (module
        (import "env" "cb" (func $cb (param i32) (result i32)))
        (func (export "countdown") (param i32) (result i32)
          local.get 0
          i32.eqz
          if (result i32)
            i32.const 0
          else
            local.get 0
            call $cb
          end))
      """

      cb = fn %{caller: caller, instance: instance}, n ->
        {:ok, [below]} = call(caller, instance, "countdown", [n - 1])
        below + n
      end

      {store, instance} = cb_instance!(wat, [:i32], [:i32], cb)
      assert {:ok, [15]} = call(store, instance, "countdown", [5])
    end

    test "a trap in a nested call is returned to the callback, not to the outer call" do
      wat = ~S"""
      (module
        (import "env" "cb" (func $cb (result i32)))
        (func (export "trap") unreachable)
        (func (export "run") (result i32) call $cb))
      """

      test = self()

      cb = fn %{caller: caller, instance: instance} ->
        send(test, {:nested, call(caller, instance, "trap", [])})
        1
      end

      {store, instance} = cb_instance!(wat, [], [:i32], cb)
      assert {:ok, [1]} = call(store, instance, "run", [])
      assert_received {:nested, {:error, "Error during function excecution (" <> _}}
    end

    test "the caller compiles and instantiates modules" do
      wat = ~S"""
      (module (import "env" "cb" (func $cb (result i32))) (func (export "run") (result i32) call $cb))
      """

      test = self()

      cb = fn %{caller: caller} ->
        {:ok, module} =
          Module.compile(caller, ~S[(module (func (export "seven") (result i32) i32.const 7))])

        {:ok, inner} = Instance.new(caller, module, %{})
        send(test, {:inner, inner})
        {:ok, [seven]} = call(caller, inner, "seven", [])
        seven * 6
      end

      {store, instance} = cb_instance!(wat, [], [:i32], cb)
      assert {:ok, [42]} = call(store, instance, "run", [])

      # the inner instance lives in the same store and outlives the callback
      assert_received {:inner, inner}
      assert {:ok, [7]} = call(store, inner, "seven", [])
    end

    test "Memory.grow through the caller is an error" do
      wat = ~S"""
      (module
        (import "env" "cb" (func $cb))
        (memory (export "memory") 1)
        (func (export "run") (result i32) call $cb memory.size))
      """

      test = self()

      cb = fn %{caller: caller, memory: memory} ->
        send(test, {:grow, Memory.grow(caller, memory, 1)})
      end

      {store, instance} = cb_instance!(wat, [], [], cb)
      assert {:ok, [1]} = call(store, instance, "run", [])
      assert_received {:grow, {:error, "Cannot grow memory from caller"}}
    end

    test "a caller used after its callback ended is no longer valid" do
      wat = ~S"""
      (module
        (import "env" "cb" (func $cb))
        (memory (export "memory") 1)
        (global (export "g") i32 (i32.const 3))
        (func (export "run") call $cb)
        (func (export "one") (result i32) i32.const 1))
      """

      test = self()
      cb = fn %{caller: caller, memory: memory} -> send(test, {:caller, caller, memory}) end
      {store, instance} = cb_instance!(wat, [], [], cb)
      assert {:ok, []} = call(store, instance, "run", [])
      assert_received {:caller, caller, memory}

      assert {:error, "Caller is no longer valid"} = Memory.read_binary(caller, memory, 0, 1)
      assert {:error, "Caller is no longer valid"} = Memory.write_binary(caller, memory, 0, "x")
      assert {:error, "Caller is no longer valid"} = Memory.size(caller, memory)

      assert {:error, "Caller is no longer valid"} =
               Instance.get_global_value(caller, instance, "g")

      assert {:error, "Caller is no longer valid"} = call(caller, instance, "one", [])

      # the store itself is fine
      assert {:ok, [1]} = call(store, instance, "one", [])
    end

    test "a caller from an earlier call is not valid during a later call" do
      wat = ~S"""
      (module
        (import "env" "cb" (func $cb (param i32)))
        (memory (export "memory") 1)
        (func (export "run") (param i32) local.get 0 call $cb))
      """

      test = self()

      cb = fn %{caller: caller, memory: memory}, n ->
        case n do
          1 ->
            Process.put(:old_caller, caller)

          2 ->
            old = Process.get(:old_caller)
            send(test, {:old, Memory.read_binary(old, memory, 0, 1)})
            send(test, {:new, Memory.read_binary(caller, memory, 0, 1)})
        end
      end

      {store, instance} = cb_instance!(wat, [:i32], [], cb)
      assert {:ok, []} = call(store, instance, "run", [1])
      assert {:ok, []} = call(store, instance, "run", [2])
      assert_received {:old, {:error, "Caller is no longer valid"}}
      assert_received {:new, <<0>>}
    end

    test "using the store instead of the caller inside a callback does not hang" do
      wat = ~S"""
      (module
        (import "env" "cb" (func $cb))
        (memory (export "memory") 1)
        (func (export "run") (result i32) call $cb i32.const 1))
      """

      test = self()
      store = store!()

      cb = fn %{memory: memory} ->
        send(test, {:inner, Memory.read_binary(store, memory, 0, 1)})
      end

      {store, _module, instance} =
        instantiate!(wat, %{env: %{cb: {:fn, [], [], cb}}}, store: store)

      assert {:ok, [1]} = within(5_000, fn -> call(store, instance, "run", []) end)
      assert_received {:inner, inner}
      assert inner == <<0>> or match?({:error, reason} when is_binary(reason), inner)
    end
  end

  # Instantiates `wat`, whose import `env.cb` is the Elixir function `cb`: `{store, instance}`.
  defp cb_instance!(wat, params, results, cb) do
    {store, _module, instance} = instantiate!(wat, %{env: %{cb: {:fn, params, results, cb}}})
    {store, instance}
  end

  defp failing_import_instance!(fun) do
    wat = ~S"""
    (module
      (import "env" "f" (func $f (param i32) (result i32)))
      (func (export "run") (param i32) (result i32) local.get 0 call $f)
      (func (export "seven") (result i32) i32.const 7))
    """

    {store, _module, instance} = instantiate!(wat, %{env: %{f: {:fn, [:i32], [:i32], fun}}})
    {store, instance}
  end
end
