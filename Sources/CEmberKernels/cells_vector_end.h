// Undefines what cells_vector.h (and the vmath_functions.h it includes) defined, so that the next
// instantiation can define them again for its own width. Included at the end of each template that
// includes cells_vector.h.
#undef VLOAD
#undef VBIASED
#undef VSTORE
#undef VPUT
#undef VROW
#undef VF
#undef VI
#undef VFU
#undef VLANES
