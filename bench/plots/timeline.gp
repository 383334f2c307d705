# memplug's x-memplug-timeline per DIMM as stacked bars: request -> memory
# slot installed, -> SCI raised, -> the guest's first read, -> _OST.
set terminal svg size 900,420 dynamic font "sans,11"
set termoption noenhanced
set output out
set style data histograms
set style histogram rowstacked
set style fill solid 0.8 border -1
set boxwidth 0.75
set grid ytics
set key top left
set yrange [0:*]
set xtics rotate by -30
set multiplot layout 1,2
set title "PVM (software KVM)"
set ylabel "ms from device_add"
plot pvm using 2:xtic(1) title "slot installed", '' using 3 title "SCI raised", \
     '' using 4 title "guest's first read", '' using 5 title "_OST"
set title "real KVM, nested under TCG"
plot real using 2:xtic(1) title "slot installed", '' using 3 title "SCI raised", \
     '' using 4 title "guest's first read", '' using 5 title "_OST"
unset multiplot
