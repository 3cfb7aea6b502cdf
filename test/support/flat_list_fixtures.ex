defmodule Wasmex.FlatListFixtures do
  @moduledoc false
  # A component written by hand for the numeric list fast path (component/flat_nums.rs), used
  # by features/flat_lists_test.exs, features/flat_lists_scheduler_test.exs and
  # bench/components.exs. For every element type T (u8 included):
  #
  #   * `echo-T: func(xs: list<T>) -> list<T>` returns its argument (the same pointer and
  #     length): the fast path both ways;
  #   * `slow-T: func(xs: list<T>, pad: u32) -> list<T>` does the same, but its `u32` parameter
  #     sends it down the dynamic path (the reference the fast path is compared with);
  #
  # and `pair: func(a: list<u32>, b: list<f64>) -> list<f64>` returns `b`,
  # `zeros-u32: func() -> list<u32>` returns 4Mi zeros (16 MiB, for the scheduler test).
  #
  # The core module: a bump allocator above 17 MiB that grows memory as needed and is reset by
  # the post-return function after each call; results in a return area at 0.

  @types ~w(s8 u8 s16 u16 s32 u32 s64 u64 f32 f64)

  @doc "The element types the component has `echo-` and `slow-` functions for."
  def types, do: @types

  @doc "The component's text."
  def component do
    lifts =
      for t <- @types do
        """
        (func (export "echo-#{t}") (param "xs" (list #{t})) (result (list #{t}))
          (canon lift (core func $i "echo") (memory $i "mem") (realloc (func $i "realloc"))
            (post-return (func $i "reset"))))
        (func (export "slow-#{t}") (param "xs" (list #{t})) (param "pad" u32) (result (list #{t}))
          (canon lift (core func $i "echo-pad") (memory $i "mem") (realloc (func $i "realloc"))
            (post-return (func $i "reset"))))
        """
      end

    """
    (component
      (core module $m
        (memory (export "mem") 273)
        (global $bump (mut i32) (i32.const 0x1100000))
        (func (export "realloc") (param i32 i32 i32 i32) (result i32)
          (local $p i32) (local $end i32) (local $have i32)
          (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1)))
                                 (i32.sub (i32.const 0) (local.get 2))))
          (local.set $end (i32.add (local.get $p) (local.get 3)))
          (local.set $have (i32.mul (memory.size) (i32.const 65536)))
          (if (i32.gt_u (local.get $end) (local.get $have))
            (then
              (if (i32.eq (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have))
                                                           (i32.const 65535))
                                                  (i32.const 16)))
                          (i32.const -1))
                (then unreachable))))
          (global.set $bump (local.get $end))
          (local.get $p))
        (func (export "reset") (param i32) (global.set $bump (i32.const 0x1100000)))
        (func (export "echo") (param i32 i32) (result i32)
          (i32.store (i32.const 0) (local.get 0))
          (i32.store (i32.const 4) (local.get 1))
          (i32.const 0))
        (func (export "echo-pad") (param i32 i32 i32) (result i32)
          (i32.store (i32.const 0) (local.get 0))
          (i32.store (i32.const 4) (local.get 1))
          (i32.const 0))
        (func (export "second") (param i32 i32 i32 i32) (result i32)
          (i32.store (i32.const 0) (local.get 2))
          (i32.store (i32.const 4) (local.get 3))
          (i32.const 0))
        (func (export "zeros") (result i32)
          (i32.store (i32.const 0) (i32.const 65536))
          (i32.store (i32.const 4) (i32.const 4194304))
          (i32.const 0)))
      (core instance $i (instantiate $m))
      #{Enum.join(lifts)}
      (func (export "pair") (param "a" (list u32)) (param "b" (list f64)) (result (list f64))
        (canon lift (core func $i "second") (memory $i "mem") (realloc (func $i "realloc"))
          (post-return (func $i "reset"))))
      (func (export "zeros-u32") (result (list u32))
        (canon lift (core func $i "zeros") (memory $i "mem") (realloc (func $i "realloc"))
          (post-return (func $i "reset")))))
    """
  end
end
