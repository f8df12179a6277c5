;; gemmNT as WebAssembly SIMD: out[r*rb + c] = sum over l of A[r, l]*B[c, l], each sum taken in the order
;; l = 0, 1, .., L-1 as s += x*w, with x promoted from f32 and a multiply then an add (no FMA), so
;; every output element is bit for bit what the JavaScript gemmNT in gemm.ts computes. The two lanes
;; of an f64x2 are two rows of A: vectorising across independent sums keeps each sum's order.
;;
;; Compiled by `npm run wasm` (scripts/buildWasm.ts) into gemmWasm.ts; a test checks that the
;; committed bytes are this file's.
;;
;; Layouts (byte addresses in the imported memory, all set up by gemm.ts):
;; - A, "row quads": rows padded with zeros to a multiple of 8; quad q (rows 4q..4q+3) takes L*16
;;   bytes, and at l holds the four f32 A[4q, l], A[4q+1, l], A[4q+2, l], A[4q+3, l].
;; - B: row-major f64, rb x L (row c at byte c*L*8).
;; - out: row-major f64, (quads*4) x rb; rows beyond A's real rows get sums of the zero padding.
(module
  (import "env" "memory" (memory 0))

  (func (export "gemm")
    (param $a i32) (param $quads i32) (param $b i32) (param $rb i32) (param $len i32) (param $out i32)
    (local $q i32) (local $c i32) (local $l i32) (local $rb4 i32) (local $rs i32) (local $bs i32) (local $bs2 i32) (local $bs3 i32)
    (local $aq i32) (local $pa i32) (local $pa2 i32) (local $pb i32) (local $o i32)
    (local $x01 v128) (local $x23 v128) (local $x45 v128) (local $x67 v128) (local $w v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $s4 v128) (local $s5 v128) (local $s6 v128) (local $s7 v128)
    (local.set $rb4 (i32.and (local.get $rb) (i32.const -4)))
    (local.set $rs (i32.shl (local.get $rb) (i32.const 3)))
    (local.set $bs (i32.shl (local.get $len) (i32.const 3)))
    (local.set $bs2 (i32.shl (local.get $bs) (i32.const 1)))
    (local.set $bs3 (i32.add (local.get $bs2) (local.get $bs)))

    ;; Part 1: four rows (one quad) x four columns at a time, eight accumulators:
    ;; $s0..$s3 hold rows 4q, 4q+1 of columns c..c+3, $s4..$s7 rows 4q+2, 4q+3.
    (local.set $q (i32.const 0))
    (block $quads_done
      (loop $each_quad
        (br_if $quads_done (i32.ge_u (local.get $q) (local.get $quads)))
        (local.set $aq (i32.add (local.get $a) (i32.mul (local.get $q) (i32.shl (local.get $len) (i32.const 4)))))
        (local.set $c (i32.const 0))
        (block $groups_done
          (loop $each_group
            (br_if $groups_done (i32.ge_u (local.get $c) (local.get $rb4)))
            (local.set $s0 (v128.const i64x2 0 0))
            (local.set $s1 (v128.const i64x2 0 0))
            (local.set $s2 (v128.const i64x2 0 0))
            (local.set $s3 (v128.const i64x2 0 0))
            (local.set $s4 (v128.const i64x2 0 0))
            (local.set $s5 (v128.const i64x2 0 0))
            (local.set $s6 (v128.const i64x2 0 0))
            (local.set $s7 (v128.const i64x2 0 0))
            (local.set $pa (local.get $aq))
            (local.set $pb (i32.add (local.get $b) (i32.mul (local.get $c) (local.get $bs))))
            (local.set $l (local.get $len))
            (block $l_done
              (loop $each_l
                (br_if $l_done (i32.eqz (local.get $l)))
                (local.set $x01 (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pa))))
                (local.set $x23 (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pa))))
                (local.set $w (v128.load64_splat (local.get $pb)))
                (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (local.get $x01) (local.get $w))))
                (local.set $s4 (f64x2.add (local.get $s4) (f64x2.mul (local.get $x23) (local.get $w))))
                (local.set $w (v128.load64_splat (i32.add (local.get $pb) (local.get $bs))))
                (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (local.get $x01) (local.get $w))))
                (local.set $s5 (f64x2.add (local.get $s5) (f64x2.mul (local.get $x23) (local.get $w))))
                (local.set $w (v128.load64_splat (i32.add (local.get $pb) (local.get $bs2))))
                (local.set $s2 (f64x2.add (local.get $s2) (f64x2.mul (local.get $x01) (local.get $w))))
                (local.set $s6 (f64x2.add (local.get $s6) (f64x2.mul (local.get $x23) (local.get $w))))
                (local.set $w (v128.load64_splat (i32.add (local.get $pb) (local.get $bs3))))
                (local.set $s3 (f64x2.add (local.get $s3) (f64x2.mul (local.get $x01) (local.get $w))))
                (local.set $s7 (f64x2.add (local.get $s7) (f64x2.mul (local.get $x23) (local.get $w))))
                (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 8)))
                (local.set $l (i32.sub (local.get $l) (i32.const 1)))
                (br $each_l)))
            ;; out[(4q + r)*rb + c + k]
            (local.set $o (i32.add (local.get $out)
              (i32.add (i32.mul (i32.shl (local.get $q) (i32.const 2)) (local.get $rs)) (i32.shl (local.get $c) (i32.const 3)))))
            (f64.store offset=0 (local.get $o) (f64x2.extract_lane 0 (local.get $s0)))
            (f64.store offset=8 (local.get $o) (f64x2.extract_lane 0 (local.get $s1)))
            (f64.store offset=16 (local.get $o) (f64x2.extract_lane 0 (local.get $s2)))
            (f64.store offset=24 (local.get $o) (f64x2.extract_lane 0 (local.get $s3)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store offset=0 (local.get $o) (f64x2.extract_lane 1 (local.get $s0)))
            (f64.store offset=8 (local.get $o) (f64x2.extract_lane 1 (local.get $s1)))
            (f64.store offset=16 (local.get $o) (f64x2.extract_lane 1 (local.get $s2)))
            (f64.store offset=24 (local.get $o) (f64x2.extract_lane 1 (local.get $s3)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store offset=0 (local.get $o) (f64x2.extract_lane 0 (local.get $s4)))
            (f64.store offset=8 (local.get $o) (f64x2.extract_lane 0 (local.get $s5)))
            (f64.store offset=16 (local.get $o) (f64x2.extract_lane 0 (local.get $s6)))
            (f64.store offset=24 (local.get $o) (f64x2.extract_lane 0 (local.get $s7)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store offset=0 (local.get $o) (f64x2.extract_lane 1 (local.get $s4)))
            (f64.store offset=8 (local.get $o) (f64x2.extract_lane 1 (local.get $s5)))
            (f64.store offset=16 (local.get $o) (f64x2.extract_lane 1 (local.get $s6)))
            (f64.store offset=24 (local.get $o) (f64x2.extract_lane 1 (local.get $s7)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $each_group)))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $each_quad)))

    ;; Part 2: the last rb mod 4 columns, one at a time, eight rows (two quads) at once, four
    ;; accumulators: $s0, $s1 rows 4q..4q+3, $s2, $s3 rows 4q+4..4q+7. $quads is even.
    (local.set $c (local.get $rb4))
    (block $cols_done
      (loop $each_col
        (br_if $cols_done (i32.ge_u (local.get $c) (local.get $rb)))
        (local.set $q (i32.const 0))
        (block $pairs_done
          (loop $each_pair
            (br_if $pairs_done (i32.ge_u (local.get $q) (local.get $quads)))
            (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $q) (i32.shl (local.get $len) (i32.const 4)))))
            (local.set $pa2 (i32.add (local.get $pa) (i32.shl (local.get $len) (i32.const 4))))
            (local.set $pb (i32.add (local.get $b) (i32.mul (local.get $c) (local.get $bs))))
            (local.set $s0 (v128.const i64x2 0 0))
            (local.set $s1 (v128.const i64x2 0 0))
            (local.set $s2 (v128.const i64x2 0 0))
            (local.set $s3 (v128.const i64x2 0 0))
            (local.set $l (local.get $len))
            (block $l2_done
              (loop $each_l2
                (br_if $l2_done (i32.eqz (local.get $l)))
                (local.set $w (v128.load64_splat (local.get $pb)))
                (local.set $x01 (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pa))))
                (local.set $x23 (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pa))))
                (local.set $x45 (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pa2))))
                (local.set $x67 (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pa2))))
                (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (local.get $x01) (local.get $w))))
                (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (local.get $x23) (local.get $w))))
                (local.set $s2 (f64x2.add (local.get $s2) (f64x2.mul (local.get $x45) (local.get $w))))
                (local.set $s3 (f64x2.add (local.get $s3) (f64x2.mul (local.get $x67) (local.get $w))))
                (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
                (local.set $pa2 (i32.add (local.get $pa2) (i32.const 16)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 8)))
                (local.set $l (i32.sub (local.get $l) (i32.const 1)))
                (br $each_l2)))
            ;; out[(4q + r)*rb + c], r = 0..7
            (local.set $o (i32.add (local.get $out)
              (i32.add (i32.mul (i32.shl (local.get $q) (i32.const 2)) (local.get $rs)) (i32.shl (local.get $c) (i32.const 3)))))
            (f64.store (local.get $o) (f64x2.extract_lane 0 (local.get $s0)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store (local.get $o) (f64x2.extract_lane 1 (local.get $s0)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store (local.get $o) (f64x2.extract_lane 0 (local.get $s1)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store (local.get $o) (f64x2.extract_lane 1 (local.get $s1)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store (local.get $o) (f64x2.extract_lane 0 (local.get $s2)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store (local.get $o) (f64x2.extract_lane 1 (local.get $s2)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store (local.get $o) (f64x2.extract_lane 0 (local.get $s3)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store (local.get $o) (f64x2.extract_lane 1 (local.get $s3)))
            (local.set $q (i32.add (local.get $q) (i32.const 2)))
            (br $each_pair)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $each_col)))))
